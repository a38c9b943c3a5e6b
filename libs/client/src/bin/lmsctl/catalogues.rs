//! `catalogues`: catalogues of courses and the people they are deployed to (delegation). A
//! catalogue deployed to a person shows them its courses, which they may ask to join. Changing
//! catalogues needs `catalogues.update`; everyone else lists the catalogues deployed to them.

use anyhow::Context;
use clap::Subcommand;
use lms_api::common::v1::ConsistencyToken;
use lms_api::delegation::v1::{
    AddCatalogueCoursesRequest, Catalogue, CreateCatalogueRequest, DeleteCatalogueRequest,
    DeployCatalogueRequest, GetCatalogueRequest, ListCataloguesRequest,
    RemoveCatalogueCourseRequest, WithdrawCatalogueRequest,
};
use lms_client::Client;
use lms_client::output::Rows;

/// What `lmsctl catalogues` does.
#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// The catalogues you may see (all of them if you change catalogues, else yours).
    List,
    /// One catalogue with its courses.
    Get {
        /// The catalogue.
        catalogue: String,
    },
    /// Create a catalogue, optionally with courses.
    Create {
        /// Its name.
        name: String,
        /// A course to put in it (repeat for more).
        #[arg(long = "course")]
        courses: Vec<String>,
    },
    /// Put courses in a catalogue.
    Add {
        /// The catalogue.
        catalogue: String,
        /// The courses.
        #[arg(required = true)]
        courses: Vec<String>,
    },
    /// Take a course out of a catalogue.
    Remove {
        /// The catalogue.
        catalogue: String,
        /// The course.
        course: String,
    },
    /// Deploy a catalogue to people and to groups' members (each offered its courses).
    Deploy {
        /// The catalogue.
        catalogue: String,
        /// A person (repeat for more).
        #[arg(long = "user")]
        users: Vec<String>,
        /// A group, its members as they are now (repeat for more).
        #[arg(long = "group")]
        groups: Vec<String>,
    },
    /// Take a catalogue back from people.
    Withdraw {
        /// The catalogue.
        catalogue: String,
        /// A person (repeat for more).
        #[arg(long = "user", required = true)]
        users: Vec<String>,
    },
    /// Delete a catalogue (its courses stay).
    Delete {
        /// The catalogue.
        catalogue: String,
    },
}

const COLUMNS: [&str; 4] = ["catalogue", "name", "courses", "learners"];

fn catalogue_row(rows: &mut Rows, catalogue: Catalogue) {
    rows.push(vec![
        catalogue.catalogue_id,
        catalogue.name,
        catalogue.course_ids.join(" "),
        catalogue.learner_count.to_string(),
    ]);
}

fn one(catalogue: Option<Catalogue>) -> Rows {
    let mut rows = Rows::new(&COLUMNS);
    catalogue_row(&mut rows, catalogue.unwrap_or_default());
    rows
}

/// How many a write changed, and its token.
fn changed(column: &'static str, count: i32, token: Option<ConsistencyToken>) -> Rows {
    let mut rows = Rows::new(&[column, "written_at"]);
    rows.push(vec![count.to_string(), crate::token(token)]);
    rows
}

fn refused(what: &'static str) -> impl FnOnce(tonic::Status) -> anyhow::Error {
    move |status| anyhow::Error::new(status).context(what)
}

/// Runs `command` against delegation.
pub async fn run(delegation: &Client, command: CatalogueCommand) -> anyhow::Result<Rows> {
    let mut catalogues = delegation.catalogues();
    Ok(match command {
        CatalogueCommand::List => {
            let mut rows = Rows::new(&COLUMNS);
            let mut page_token = String::new();
            loop {
                let page = catalogues
                    .list_catalogues(ListCataloguesRequest {
                        page_size: 500,
                        page_token,
                    })
                    .await
                    .context("list catalogues")?
                    .into_inner();
                for catalogue in page.catalogues {
                    catalogue_row(&mut rows, catalogue);
                }
                if page.next_page_token.is_empty() {
                    break rows;
                }
                page_token = page.next_page_token;
            }
        }
        CatalogueCommand::Get { catalogue } => one(catalogues
            .get_catalogue(GetCatalogueRequest {
                catalogue_id: catalogue,
            })
            .await
            .context("get catalogue")?
            .into_inner()
            .catalogue),
        CatalogueCommand::Create { name, courses } => one(catalogues
            .create_catalogue(CreateCatalogueRequest {
                name,
                course_ids: courses,
            })
            .await
            .map_err(refused("create catalogue"))?
            .into_inner()
            .catalogue),
        CatalogueCommand::Add { catalogue, courses } => {
            let added = catalogues
                .add_catalogue_courses(AddCatalogueCoursesRequest {
                    catalogue_id: catalogue,
                    course_ids: courses,
                })
                .await
                .map_err(refused("add courses"))?
                .into_inner();
            let now_holds = added.catalogue.unwrap_or_default();
            let mut rows = Rows::new(&["catalogue", "courses", "written_at"]);
            rows.push(vec![
                now_holds.catalogue_id,
                now_holds.course_ids.join(" "),
                crate::token(added.written_at),
            ]);
            rows
        }
        CatalogueCommand::Remove { catalogue, course } => {
            let removed = catalogues
                .remove_catalogue_course(RemoveCatalogueCourseRequest {
                    catalogue_id: catalogue,
                    course_id: course,
                })
                .await
                .map_err(refused("remove course"))?
                .into_inner();
            changed("removed", 1, removed.written_at)
        }
        CatalogueCommand::Deploy {
            catalogue,
            users,
            groups,
        } => {
            let deployed = catalogues
                .deploy_catalogue(DeployCatalogueRequest {
                    catalogue_id: catalogue,
                    user_ids: users,
                    group_ids: groups,
                })
                .await
                .map_err(refused("deploy catalogue"))?
                .into_inner();
            changed("users_added", deployed.users_added, deployed.written_at)
        }
        CatalogueCommand::Withdraw { catalogue, users } => {
            let withdrawn = catalogues
                .withdraw_catalogue(WithdrawCatalogueRequest {
                    catalogue_id: catalogue,
                    user_ids: users,
                })
                .await
                .map_err(refused("withdraw catalogue"))?
                .into_inner();
            changed(
                "users_removed",
                withdrawn.users_removed,
                withdrawn.written_at,
            )
        }
        CatalogueCommand::Delete { catalogue } => {
            let deleted = catalogues
                .delete_catalogue(DeleteCatalogueRequest {
                    catalogue_id: catalogue,
                })
                .await
                .map_err(refused("delete catalogue"))?
                .into_inner();
            changed("deleted", 1, deleted.written_at)
        }
    })
}
