//! The demo world's seeding flow, through the public gRPC API only: the operator creates the
//! tenants and appoints the Master Administrator; each tenant's administrator, signed in with
//! the demo password, makes its units, people, roles, teams and courses (the courses' learners
//! and waiting requests too); the master invites the client and the client's administrator
//! accepts. `demo.env` is written last; a run that finds it seeds nothing, and a run that finds
//! less picks up where an earlier one stopped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use lms_api::delegation::v1::ResponsibilityKind;
use lms_api::identity::v1::User;
use lms_kernel::{RoleId, Template};

use super::DevOperator;
use super::api::{Caller, Endpoints, Platform};
use super::kept::{self, DemoIds, Progress};
use super::world::{DEMO_ADMIN_EMAIL, Person, Place, Standing, TenantPlan, World};

/// Why seeding the demo world failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// A service could not be reached.
    #[error("the platform is unreachable: {0}")]
    Connect(#[from] lms_client::ClientError),
    /// A service refused a call.
    #[error("the platform refused {call}: {status}")]
    Refused {
        /// The call.
        call: &'static str,
        /// Its answer.
        status: Box<tonic::Status>,
    },
    /// The data directory could not be read or written.
    #[error("cannot keep the demo world's ids in {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Seeds (or finds) the demo world once the platform serves.
#[derive(Debug, Clone)]
pub struct Seeder {
    endpoints: Endpoints,
    operator: DevOperator,
    data_dir: PathBuf,
}

/// The demo world, its administrator signed in.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The demo tenant's id.
    pub tenant: String,
    /// An access token of its administrator, issued by identity's sign-in.
    pub token: String,
    /// Whether this run seeded the world (false: `demo.env` said it was seeded already).
    pub created: bool,
    /// The world's ids, as `demo.env` keeps them.
    pub ids: DemoIds,
}

/// What seeding one tenant leaves for the steps that span tenants.
struct Seeded {
    tenant: String,
    admin: Caller,
}

impl Seeder {
    /// A seeder calling the services at `endpoints` as `operator`, keeping what it made in
    /// `data_dir`.
    pub fn new(endpoints: Endpoints, operator: DevOperator, data_dir: &Path) -> Self {
        Self {
            endpoints,
            operator,
            data_dir: data_dir.to_owned(),
        }
    }

    /// Seeds the demo world, or finds it seeded, and signs the demo administrator in. Call
    /// once the platform serves.
    pub async fn seed(&self) -> Result<Demo, SeedError> {
        let platform = Platform::connect(&self.endpoints).await?;
        if let Some(ids) = kept::seeded(&self.data_dir)? {
            let tenant = ids.get("DEMO_TENANT").unwrap_or_default().to_owned();
            let admin = platform.sign_in(&tenant, DEMO_ADMIN_EMAIL).await?;
            return Ok(Demo {
                tenant,
                token: admin.token().to_owned(),
                created: false,
                ids,
            });
        }
        let world = World::new();
        let mut progress = Progress::load(&self.data_dir)?;
        let operator = platform.operator(&self.operator).await?;
        operator.until_authorization_trusts().await?;
        let mut ids = DemoIds::default();
        let mut run = Run {
            platform: &platform,
            operator: &operator,
            progress: &mut progress,
            ids: &mut ids,
        };
        let demo = run.tenant(&world.demo).await?;
        let group = run.tenant(&world.group).await?;
        let client = run.tenant(&world.client).await?;
        run.link(&world.group, &group, &client).await?;
        progress.finish(&ids)?;
        tracing::info!(tenant = %demo.tenant, "demo world seeded");
        Ok(Demo {
            tenant: demo.tenant,
            token: demo.admin.token().to_owned(),
            created: true,
            ids,
        })
    }
}

/// One seeding run: who calls, and what it has found or made so far.
struct Run<'a> {
    platform: &'a Platform,
    operator: &'a Caller,
    progress: &'a mut Progress,
    ids: &'a mut DemoIds,
}

impl Run<'_> {
    /// Seeds one tenant of the world, as the operator and then as its administrator.
    async fn tenant(&mut self, plan: &TenantPlan) -> Result<Seeded, SeedError> {
        // A run can stop between creating a tenant and keeping its id: before creating one,
        // it is looked for by name.
        let tenant = match self.progress.tenant(plan.key) {
            Some(kept) => kept.to_owned(),
            None => {
                let made = match self.operator.tenant_named(plan.name).await? {
                    Some(found) => found,
                    None => self.operator.create_tenant(plan).await?,
                };
                self.progress.record_tenant(plan.key, &made)?;
                made
            }
        };
        self.ids.set(plan.key, &tenant);
        let admin = self.platform.sign_in(&tenant, &plan.founder.email).await?;
        admin.until_authorized().await?;
        if let Some(key) = plan.founder.key {
            self.ids.set(key, admin.me().await?.user_id);
        }
        admin.switch_on(plan).await?;
        let units = admin.ensure_units(&plan.units).await?;
        for (key, id) in &units {
            self.ids.set(key, id);
        }
        let mut people: HashMap<String, User> = HashMap::new();
        for person in plan.members() {
            let main_unit = person.main_unit.map(|key| unit_id(&units, key));
            let (user, created) = admin.ensure_user(&person, main_unit).await?;
            self.give_standing(&tenant, &admin, &units, &person, &user, created)
                .await?;
            if let Some(key) = person.key {
                self.ids.set(key, &user.user_id);
            }
            people.insert(person.email, user);
        }
        self.teams(plan, &admin, &people).await?;
        self.courses(&tenant, plan, &admin, &units, &people).await?;
        self.events(&tenant, plan, &admin, &people).await?;
        Ok(Seeded { tenant, admin })
    }

    /// Gives `user` (made just now when `created`) what `person` holds, unless they hold it.
    async fn give_standing(
        &self,
        tenant: &str,
        admin: &Caller,
        units: &HashMap<&'static str, String>,
        person: &Person,
        user: &User,
        created: bool,
    ) -> Result<(), SeedError> {
        let user_id = user.user_id.as_str();
        // A user made just now holds nothing yet: only one found needs asking.
        match person.standing {
            Standing::Founder | Standing::DefaultStudent => Ok(()),
            Standing::Assigned(template, place) => {
                let unit = match place {
                    Place::Tenant => "",
                    Place::Unit(key) => unit_id(units, key),
                };
                let role = role_id(template);
                if created || !admin.holds(user_id, &role, unit).await? {
                    admin.assign(user_id, &role, unit).await?;
                }
                Ok(())
            }
            Standing::ApprovedTutor => admin.approve_if_pending(user).await,
            // Appointing a Master Administrator again changes nothing, so no need to ask.
            Standing::AppointedMaster => self.operator.appoint_master(tenant, user_id).await,
        }
    }

    /// Makes each team of `plan`: the group, its members (each their primary group) and its
    /// manager, whose Manager role is assigned by now (the responsibility needs it).
    async fn teams(
        &mut self,
        plan: &TenantPlan,
        admin: &Caller,
        people: &HashMap<String, User>,
    ) -> Result<(), SeedError> {
        if plan.teams.is_empty() {
            return Ok(());
        }
        let groups = admin.groups_now().await?;
        let members = plan.members();
        for team in &plan.teams {
            let group = match groups.iter().find(|group| group.name == team.name) {
                Some(group) => group.clone(),
                None => admin.create_group(team.name).await?,
            };
            let id = group.group_id.as_str();
            self.ids.set(team.key, id);
            let in_team: Vec<&User> = members
                .iter()
                .filter(|person| person.team == Some(team.key))
                .filter_map(|person| people.get(&person.email))
                .collect();
            let ids = in_team.iter().map(|user| user.user_id.clone()).collect();
            admin.add_members(id, ids).await?;
            for user in in_team.iter().filter(|user| user.primary_group_id != id) {
                admin.set_primary_group(&user.user_id, id).await?;
            }
            let manager = people.get(team.manager).map(|user| user.user_id.as_str());
            if let Some(manager) = manager.filter(|manager| group.manager_user_id != *manager) {
                admin.set_manager(id, manager).await?;
            }
        }
        Ok(())
    }

    /// Makes each course of `plan` (found by title and owner, or created), gives its duties to
    /// whoever does not hold them yet, deploys it to its team (deploying again enrols only who
    /// is missing), and has each person who waits for approval ask, unless they asked before.
    async fn courses(
        &mut self,
        tenant: &str,
        plan: &TenantPlan,
        admin: &Caller,
        units: &HashMap<&'static str, String>,
        people: &HashMap<String, User>,
    ) -> Result<(), SeedError> {
        if plan.courses.is_empty() {
            return Ok(());
        }
        let existing = admin.courses_now().await?;
        let user = |email: &str| people.get(email).map(|user| user.user_id.as_str());
        for course in &plan.courses {
            let owner = course.owner.map_or("", |key| unit_id(units, key));
            let found = existing
                .iter()
                .find(|there| there.title == course.title && there.unit_id == owner);
            let made = match found {
                Some(there) => there.clone(),
                None => admin.create_course(course, owner).await?,
            };
            let id = made.course_id.as_str();
            self.ids.set(course.key, id);
            if let Some(tutor) = course.tutor.and_then(user)
                && made.tutor_user_id != tutor
            {
                admin
                    .give_duty(id, tutor, ResponsibilityKind::CourseTutor)
                    .await?;
            }
            for administrator in course.administrators.iter().filter_map(|email| user(email)) {
                if !made
                    .administrator_user_ids
                    .iter()
                    .any(|a| a == administrator)
                {
                    admin
                        .give_duty(id, administrator, ResponsibilityKind::CourseAdministrator)
                        .await?;
                }
            }
            if let Some(team) = course.deployed_to {
                let group = self.ids.get(team).unwrap_or_default().to_owned();
                admin.deploy(id, &group).await?;
            }
        }
        // Learners ask only for courses they may see: those their catalogues offer.
        for catalogue in &plan.catalogues {
            let courses: Vec<String> = catalogue
                .courses
                .iter()
                .filter_map(|key| self.ids.get(key))
                .map(str::to_owned)
                .collect();
            let learners: Vec<String> = catalogue
                .offered_to
                .iter()
                .filter_map(|email| user(email))
                .map(str::to_owned)
                .collect();
            admin.catalogue(catalogue.name, &courses, &learners).await?;
        }
        for course in &plan.courses {
            let id = self.ids.get(course.key).unwrap_or_default().to_owned();
            let id = id.as_str();
            for asker in course.requested_by {
                let learner = self.platform.sign_in(tenant, asker).await?;
                if learner.my_requests(id).await?.is_empty() {
                    learner.ask_to_join(id).await?;
                }
            }
        }
        Ok(())
    }

    /// The plan's events (found by title on their course, or created) and their bookings: a
    /// manager books their team members, learners book themselves. Booking someone booked
    /// already answers their booking, so a second run changes nothing.
    async fn events(
        &mut self,
        tenant: &str,
        plan: &TenantPlan,
        admin: &Caller,
        people: &HashMap<String, User>,
    ) -> Result<(), SeedError> {
        let user = |email: &str| people.get(email).map(|user| user.user_id.clone());
        for event in &plan.events {
            let course = self.ids.get(event.course).unwrap_or_default().to_owned();
            let id = admin.event(&course, event).await?;
            self.ids.set(event.key, &id);
            let booker = self.platform.sign_in(tenant, event.booker).await?;
            for learner in event.booked.iter().filter_map(|email| user(email)) {
                booker.book(&id, &learner).await?;
            }
            for learner in event.self_booked {
                self.platform
                    .sign_in(tenant, learner)
                    .await?
                    .book(&id, "")
                    .await?;
            }
        }
        Ok(())
    }

    /// Makes `client` a client of `master` unless it is already (the master's Master
    /// Administrator invites, the client's administrator accepts), then grants it the courses
    /// the plan names.
    async fn link(
        &mut self,
        master_plan: &TenantPlan,
        master: &Seeded,
        client: &Seeded,
    ) -> Result<(), SeedError> {
        let appointed = master_plan
            .people
            .iter()
            .find(|person| person.standing == Standing::AppointedMaster)
            .map_or(master_plan.founder.email.as_str(), |person| &person.email);
        let master_administrator = self.platform.sign_in(&master.tenant, appointed).await?;
        if self.operator.master_of(&client.tenant).await? != master.tenant {
            master_administrator.invite_client(&client.tenant).await?;
            client.admin.accept_master(&master.tenant).await?;
        }
        self.grant(master_plan, &master_administrator, client).await
    }

    /// Grants the client the master's courses the plan names, unless granted already.
    async fn grant(
        &self,
        master_plan: &TenantPlan,
        master_administrator: &Caller,
        client: &Seeded,
    ) -> Result<(), SeedError> {
        let granted = master_administrator.grants_to(&client.tenant).await?;
        for key in master_plan.granted_to_client {
            let course = self.ids.get(key).unwrap_or_default();
            if !granted.iter().any(|grant| grant.course_id == course) {
                master_administrator
                    .grant_course(&client.tenant, course)
                    .await?;
            }
        }
        Ok(())
    }
}

fn role_id(template: Template) -> String {
    RoleId::BuiltIn(template).to_string()
}

/// The id of the world's unit `key`, made or found before anyone is placed in it (the world's
/// tests check that every key it places people at names one of its units).
fn unit_id<'a>(units: &'a HashMap<&'static str, String>, key: &str) -> &'a str {
    units
        .get(key)
        .map(String::as_str)
        .expect("the world places people only at its own units")
}
