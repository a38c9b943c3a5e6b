//! The demo world `lms dev` seeds, as data: three tenants, their units, people, roles and teams,
//! and Demo Academy's courses with their duties, learners and a request waiting for approval.
//! The seeding flow (`seed`) walks it; the banner prints its roster; `demo.env` names its ids by
//! the keys given here. The README's tour is written against exactly this world.

use lms_api::identity::v1::UnitKind;
use lms_kernel::Template;

/// The password of every named demo person, the demo administrator's included: this is a
/// development platform on a laptop, and the banner prints it.
pub const DEMO_ADMIN_PASSWORD: &str = "lms-dev-orchard-lantern";

/// The keys of `demo.env`, in the order it lists them: the ids of the world's tenants, units,
/// people, teams and courses.
pub const KEYS: [&str; 26] = [
    "DEMO_TENANT",
    "GROUP_TENANT",
    "CLIENT_TENANT",
    "NORTH_CAMPUS",
    "SCIENCE_WING",
    "ACME_CORP",
    "ADMIN_ID",
    "COORDINATOR_ID",
    "MULTI_ID",
    "LOCAL_ID",
    "MANAGER_ID",
    "TUTOR_ID",
    "ASSISTANT_ID",
    "STUDENT_ID",
    "LEARNER01_ID",
    "SCIENCE_TEAM",
    "HARBOUR_TEAM",
    "GROUP_ADMIN_ID",
    "MASTER_ID",
    "CLIENT_ADMIN_ID",
    "CLIENT_LEARNER_ID",
    "DEMO_COURSE_SAFETY",
    "DEMO_COURSE_FIELDWORK",
    "DEMO_COURSE_CHEMISTRY",
    "DEMO_EVENT_SAFETY",
    "GROUP_COURSE_INDUCTION",
];

/// Where an assigned role is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The whole tenant.
    Tenant,
    /// The unit with this key.
    Unit(&'static str),
}

/// How a person comes by what they may do; each way goes through the API as the product does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The tenant's first user, made with it: its Access Coordinator and LMS Administrator.
    Founder,
    /// A role the tenant's administrator assigns (AssignRole).
    Assigned(Template, Place),
    /// A tutor account, approved by the Access Coordinator; approval gives it the Tutor role.
    ApprovedTutor,
    /// Master Administrator, appointed by the platform operator (nobody in a tenant holds the
    /// client reach to assign it first).
    AppointedMaster,
    /// Nothing assigned: the implicit default role, Student.
    DefaultStudent,
}

/// A person of the world.
#[derive(Debug, Clone)]
pub struct Person {
    /// The `demo.env` key of their id, if it is kept.
    pub key: Option<&'static str>,
    /// Sign-in address.
    pub email: String,
    /// Given name.
    pub given_name: &'static str,
    /// Family name.
    pub family_name: String,
    /// Whether they sign in with [`DEMO_ADMIN_PASSWORD`]; people without one were invited and
    /// never signed in.
    pub password: bool,
    /// How they come by their role.
    pub standing: Standing,
    /// The key of their main account (a unit); the Guest account when none.
    pub main_unit: Option<&'static str>,
    /// The key of their team (primary group), if any.
    pub team: Option<&'static str>,
}

/// A unit of a tenant's tree.
#[derive(Debug, Clone, Copy)]
pub struct Unit {
    /// The `demo.env` key of its id.
    pub key: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Location or account.
    pub kind: UnitKind,
    /// The key of its parent unit; top level when none.
    pub parent: Option<&'static str>,
}

/// A team: a group that is its members' primary group, with a group manager.
#[derive(Debug, Clone, Copy)]
pub struct Team {
    /// The `demo.env` key of its id.
    pub key: &'static str,
    /// Display name.
    pub name: &'static str,
    /// The e-mail of its group manager.
    pub manager: &'static str,
    /// The key of the unit its learners work at (their main account).
    pub home: &'static str,
    /// The numbers of its learners (`learner01@…`), first and last.
    pub learners: (u8, u8),
}

/// A course, the duties on it and who is on it.
#[derive(Debug, Clone, Copy)]
pub struct Course {
    /// The `demo.env` key of its id.
    pub key: &'static str,
    /// Its title (how an earlier run's course is found again).
    pub title: &'static str,
    /// Its description.
    pub description: &'static str,
    /// The key of the unit that owns it; the tenant's when none.
    pub owner: Option<&'static str>,
    /// Whether enrolment waits for the Course Tutor.
    pub requires_approval: bool,
    /// The e-mail of its Course Tutor.
    pub tutor: Option<&'static str>,
    /// The e-mails of its Course Administrators.
    pub administrators: &'static [&'static str],
    /// The key of the team it is deployed to (each member enrolled).
    pub deployed_to: Option<&'static str>,
    /// The e-mails of people who asked to join and wait for the Course Tutor.
    pub requested_by: &'static [&'static str],
}

/// A catalogue and the people it is deployed to (each offered its courses).
#[derive(Debug, Clone, Copy)]
pub struct Catalogue {
    /// Its name (how an earlier run's catalogue is found again).
    pub name: &'static str,
    /// The `demo.env` keys of its courses.
    pub courses: &'static [&'static str],
    /// The e-mails of the people it is deployed to.
    pub offered_to: &'static [&'static str],
}

/// A dated session of a course and who is booked on it.
#[derive(Debug, Clone, Copy)]
pub struct EventPlan {
    /// The `demo.env` key of its id.
    pub key: &'static str,
    /// The `demo.env` key of its course.
    pub course: &'static str,
    /// Its title (how an earlier run's event is found again).
    pub title: &'static str,
    /// Where it takes place.
    pub place: &'static str,
    /// It starts this many days after the first seeding, for this many hours.
    pub days_ahead: i64,
    /// How long it lasts, in hours.
    pub hours: i64,
    /// Places.
    pub capacity: i32,
    /// The e-mail of the manager who books their team members on it.
    pub booker: &'static str,
    /// The e-mails of the team members the manager books.
    pub booked: &'static [&'static str],
    /// The e-mails of learners who book themselves.
    pub self_booked: &'static [&'static str],
}

/// A tenant and everything in it.
#[derive(Debug, Clone)]
pub struct TenantPlan {
    /// The `demo.env` key of its id.
    pub key: &'static str,
    /// Display name.
    pub name: &'static str,
    /// Whether locations are switched on.
    pub locations_enabled: bool,
    /// Whether it is a master tenant (clients switched on).
    pub clients_enabled: bool,
    /// Its first user.
    pub founder: Person,
    /// Its units, parents before children.
    pub units: Vec<Unit>,
    /// Its named people (the founder aside).
    pub people: Vec<Person>,
    /// Its teams.
    pub teams: Vec<Team>,
    /// Its courses.
    pub courses: Vec<Course>,
    /// Its catalogues.
    pub catalogues: Vec<Catalogue>,
    /// Its events.
    pub events: Vec<EventPlan>,
    /// The `demo.env` keys of its courses it grants to its client (a master tenant's).
    pub granted_to_client: &'static [&'static str],
}

/// The demo world.
#[derive(Debug, Clone)]
pub struct World {
    /// Demo Academy: locations, accounts, teams, every kind of administrator, and courses.
    pub demo: TenantPlan,
    /// Demo Group: a master tenant.
    pub group: TenantPlan,
    /// Demo Client: Demo Group's client.
    pub client: TenantPlan,
}

/// The demo tenant's administrator (its Access Coordinator).
pub const DEMO_ADMIN_EMAIL: &str = "admin@demo.example";

impl Person {
    /// A named person who signs in with [`DEMO_ADMIN_PASSWORD`], their main account the Guest
    /// account.
    fn named(
        key: &'static str,
        email: &str,
        (given_name, family_name): (&'static str, &str),
        standing: Standing,
    ) -> Person {
        Person {
            key: Some(key),
            email: email.to_owned(),
            given_name,
            family_name: family_name.to_owned(),
            password: true,
            standing,
            main_unit: None,
            team: None,
        }
    }

    /// Their main account is the unit with key `unit`, their team the one with key `team`.
    fn working_at(self, unit: &'static str, team: &'static str) -> Person {
        Person {
            main_unit: Some(unit),
            team: Some(team),
            ..self
        }
    }

    /// They have no password (invited, never signed in).
    fn without_password(self) -> Person {
        Person {
            password: false,
            ..self
        }
    }
}

impl World {
    /// The world, exactly as the README's tour describes it.
    pub fn new() -> World {
        use Place::{Tenant, Unit as At};
        use Standing::{Assigned, Founder};
        use Template as T;
        let demo = TenantPlan {
            key: "DEMO_TENANT",
            name: "Demo Academy",
            locations_enabled: true,
            clients_enabled: false,
            founder: Person::named(
                "ADMIN_ID",
                DEMO_ADMIN_EMAIL,
                ("Demo", "Administrator"),
                Founder,
            ),
            units: vec![
                Unit {
                    key: "NORTH_CAMPUS",
                    name: "North Campus",
                    kind: UnitKind::Location,
                    parent: None,
                },
                Unit {
                    key: "SCIENCE_WING",
                    name: "Science Wing",
                    kind: UnitKind::Location,
                    parent: Some("NORTH_CAMPUS"),
                },
                Unit {
                    key: "ACME_CORP",
                    name: "Acme Corp",
                    kind: UnitKind::CustomerAccount,
                    parent: None,
                },
            ],
            people: vec![
                Person::named(
                    "COORDINATOR_ID",
                    "coordinator@demo.example",
                    ("Cora", "Coordinator"),
                    Assigned(T::TrainingCoordinator, Tenant),
                ),
                Person::named(
                    "MULTI_ID",
                    "multi@demo.example",
                    ("Milo", "Multiple"),
                    Assigned(T::MultipleLocationAdministrator, At("NORTH_CAMPUS")),
                ),
                Person::named(
                    "LOCAL_ID",
                    "local@demo.example",
                    ("Lena", "Local"),
                    Assigned(T::LocalAdministrator, At("SCIENCE_WING")),
                ),
                Person::named(
                    "MANAGER_ID",
                    "manager@demo.example",
                    ("Max", "Manager"),
                    Assigned(T::Manager, Tenant),
                ),
                Person::named(
                    "TUTOR_ID",
                    "tutor@demo.example",
                    ("Tara", "Tutor"),
                    Standing::ApprovedTutor,
                ),
                Person::named(
                    "ASSISTANT_ID",
                    "assistant@demo.example",
                    ("Ash", "Assistant"),
                    Standing::ApprovedTutor,
                ),
                Person::named(
                    "STUDENT_ID",
                    "student@demo.example",
                    ("Sam", "Student"),
                    Assigned(T::Student, Tenant),
                )
                .working_at("SCIENCE_WING", "SCIENCE_TEAM"),
            ],
            teams: vec![
                Team {
                    key: "SCIENCE_TEAM",
                    name: "Science Team",
                    manager: "manager@demo.example",
                    home: "SCIENCE_WING",
                    learners: (1, 12),
                },
                Team {
                    key: "HARBOUR_TEAM",
                    name: "Harbour Team",
                    manager: "manager@demo.example",
                    home: "NORTH_CAMPUS",
                    learners: (13, 24),
                },
            ],
            courses: vec![
                Course {
                    key: "DEMO_COURSE_SAFETY",
                    title: "Lab Safety",
                    description: "Working safely in the teaching labs.",
                    owner: None,
                    requires_approval: false,
                    tutor: Some("tutor@demo.example"),
                    administrators: &[],
                    deployed_to: Some("SCIENCE_TEAM"),
                    requested_by: &[],
                },
                Course {
                    key: "DEMO_COURSE_FIELDWORK",
                    title: "Field Ecology",
                    description: "Survey methods on the campus grounds.",
                    owner: Some("SCIENCE_WING"),
                    requires_approval: false,
                    tutor: None,
                    administrators: &[],
                    deployed_to: None,
                    requested_by: &[],
                },
                Course {
                    key: "DEMO_COURSE_CHEMISTRY",
                    title: "Advanced Chemistry",
                    description: "Places are limited: the Course Tutor approves each learner.",
                    owner: None,
                    requires_approval: true,
                    tutor: Some("tutor@demo.example"),
                    administrators: &["assistant@demo.example"],
                    deployed_to: None,
                    requested_by: &["student@demo.example"],
                },
            ],
            catalogues: vec![Catalogue {
                name: "Science Catalogue",
                courses: &["DEMO_COURSE_CHEMISTRY", "DEMO_COURSE_FIELDWORK"],
                offered_to: &["student@demo.example"],
            }],
            events: vec![EventPlan {
                key: "DEMO_EVENT_SAFETY",
                course: "DEMO_COURSE_SAFETY",
                title: "Lab Safety induction",
                place: "Teaching Lab 1",
                days_ahead: 7,
                hours: 2,
                capacity: 3,
                booker: "manager@demo.example",
                booked: &["learner01@demo.example", "learner02@demo.example"],
                self_booked: &["student@demo.example"],
            }],
            granted_to_client: &[],
        };
        let group = TenantPlan {
            key: "GROUP_TENANT",
            name: "Demo Group",
            locations_enabled: false,
            clients_enabled: true,
            founder: Person::named(
                "GROUP_ADMIN_ID",
                "admin@group.example",
                ("Group", "Administrator"),
                Founder,
            ),
            units: Vec::new(),
            people: vec![Person::named(
                "MASTER_ID",
                "master@group.example",
                ("Mara", "Master"),
                Standing::AppointedMaster,
            )],
            teams: Vec::new(),
            courses: vec![Course {
                key: "GROUP_COURSE_INDUCTION",
                title: "Group induction",
                description: "Demo Group's course, granted to its client Demo Client.",
                owner: None,
                requires_approval: false,
                tutor: None,
                administrators: &[],
                deployed_to: None,
                requested_by: &[],
            }],
            catalogues: Vec::new(),
            events: Vec::new(),
            granted_to_client: &["GROUP_COURSE_INDUCTION"],
        };
        let client = TenantPlan {
            key: "CLIENT_TENANT",
            name: "Demo Client",
            locations_enabled: false,
            clients_enabled: false,
            founder: Person::named(
                "CLIENT_ADMIN_ID",
                "admin@client.example",
                ("Client", "Administrator"),
                Founder,
            ),
            units: Vec::new(),
            people: vec![
                Person::named(
                    "CLIENT_LEARNER_ID",
                    "learner@client.example",
                    ("Cal", "Client"),
                    Assigned(T::Student, Tenant),
                )
                .without_password(),
            ],
            teams: Vec::new(),
            courses: Vec::new(),
            catalogues: Vec::new(),
            events: Vec::new(),
            granted_to_client: &[],
        };
        World {
            demo,
            group,
            client,
        }
    }

    /// The tenants, in the order they are seeded: the client's master before the client.
    pub fn tenants(&self) -> [&TenantPlan; 3] {
        [&self.demo, &self.group, &self.client]
    }

    /// What sets `plan`'s tenant apart, in a few words for the banner.
    pub fn describe(&self, plan: &TenantPlan) -> String {
        if plan.key == self.client.key {
            format!("client of {}", self.group.name)
        } else if plan.clients_enabled {
            format!("master of {}", self.client.name)
        } else if plan.locations_enabled {
            "locations on".to_owned()
        } else {
            String::new()
        }
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl Team {
    /// The e-mail of learner `number`.
    pub fn learner_email(number: u8) -> String {
        format!("learner{number:02}@demo.example")
    }

    /// Its learners: no password, the implicit Student role, main account at the team's home.
    pub fn learners(&self) -> impl Iterator<Item = Person> + '_ {
        (self.learners.0..=self.learners.1).map(|number| Person {
            key: (number == 1).then_some("LEARNER01_ID"),
            email: Team::learner_email(number),
            given_name: "Learner",
            family_name: format!("{number:02}"),
            password: false,
            standing: Standing::DefaultStudent,
            main_unit: Some(self.home),
            team: Some(self.key),
        })
    }
}

impl TenantPlan {
    /// Everyone but the founder: the named people, then each team's learners.
    pub fn members(&self) -> Vec<Person> {
        let learners = self.teams.iter().flat_map(Team::learners);
        self.people.iter().cloned().chain(learners).collect()
    }

    /// The name of the unit with key `key`.
    fn unit_name(&self, key: &str) -> &'static str {
        self.units
            .iter()
            .find(|unit| unit.key == key)
            .map_or("?", |unit| unit.name)
    }

    /// The name of the team with key `key`.
    fn team_name(&self, key: &str) -> &'static str {
        self.teams
            .iter()
            .find(|team| team.key == key)
            .map_or("?", |team| team.name)
    }

    /// What sets `course` apart, in a few words for the banner: its owner, whether it needs
    /// approval, where it is deployed and who waits (the roster says who tutors it).
    pub fn course_summary(&self, course: &Course) -> String {
        let mut parts = vec![match course.owner {
            Some(unit) => self.unit_name(unit).to_owned(),
            None => "tenant".to_owned(),
        }];
        if course.requires_approval {
            parts.push("needs approval".into());
        }
        if let Some(team) = course.deployed_to {
            parts.push(format!("deployed to {}", self.team_name(team)));
        }
        for asker in course.requested_by {
            parts.push(format!("{asker} waits"));
        }
        if self.granted_to_client.contains(&course.key) {
            parts.push("granted to the client".into());
        }
        parts.join(", ")
    }

    /// The courses `email` tutors and administers, in a few words (empty when none).
    fn duties(&self, email: &str) -> String {
        let titles = |holds: &dyn Fn(&Course) -> bool| {
            self.courses
                .iter()
                .filter(|course| holds(course))
                .map(|course| course.title)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let tutors = titles(&|course| course.tutor == Some(email));
        let administers = titles(&|course| course.administrators.contains(&email));
        match (tutors.is_empty(), administers.is_empty()) {
            (true, true) => String::new(),
            (false, true) => format!("tutors {tutors}"),
            (true, false) => format!("administers {administers}"),
            (false, false) => format!("tutors {tutors}; administers {administers}"),
        }
    }

    /// Who is who, a row per named person and one per team's learners.
    pub fn roster(&self) -> Vec<RosterRow> {
        let mut rows: Vec<RosterRow> = std::iter::once(&self.founder)
            .chain(&self.people)
            .map(|person| RosterRow {
                email: person.email.clone(),
                role: self.role_label(person),
                place: self.place_label(person),
            })
            .collect();
        for team in &self.teams {
            let (first, last) = team.learners;
            rows.push(RosterRow {
                email: format!("learner{first:02}..{last:02}@demo.example"),
                role: "Student (no password)".into(),
                place: format!("{}, {}", self.unit_name(team.home), team.name),
            });
        }
        rows
    }

    fn role_label(&self, person: &Person) -> String {
        let role = match person.standing {
            Standing::Founder => "Access Coordinator, LMS Administrator",
            Standing::Assigned(template, _) => template.display_name(),
            Standing::ApprovedTutor => Template::Tutor.display_name(),
            Standing::AppointedMaster => Template::MasterAdministrator.display_name(),
            Standing::DefaultStudent => Template::Student.display_name(),
        };
        match person.password {
            true => role.to_owned(),
            false => format!("{role} (no password)"),
        }
    }

    fn place_label(&self, person: &Person) -> String {
        let managed: Vec<&str> = self
            .teams
            .iter()
            .filter(|team| team.manager == person.email)
            .map(|team| team.name)
            .collect();
        if !managed.is_empty() {
            return format!("manages {}", managed.join(", "));
        }
        let duties = self.duties(&person.email);
        if !duties.is_empty() {
            return duties;
        }
        let mut place = match person.standing {
            Standing::Assigned(_, Place::Unit(unit)) => self.unit_name(unit).to_owned(),
            Standing::AppointedMaster => "tenant and its clients".to_owned(),
            _ => match person.main_unit {
                Some(unit) => self.unit_name(unit).to_owned(),
                None => "tenant".to_owned(),
            },
        };
        if let Some(team) = person.team {
            place = format!("{place}, {}", self.team_name(team));
        }
        place
    }
}

/// One line of the banner's who-is-who table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    /// The person's (or people's) e-mail.
    pub email: String,
    /// What they hold.
    pub role: String,
    /// Where it applies.
    pub place: String,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_kept_key_names_exactly_one_thing_of_the_world() {
        let world = World::new();
        let mut named = Vec::new();
        for tenant in world.tenants() {
            named.push(tenant.key);
            named.extend(tenant.units.iter().map(|unit| unit.key));
            named.extend(tenant.founder.key);
            named.extend(tenant.members().iter().filter_map(|person| person.key));
            named.extend(tenant.teams.iter().map(|team| team.key));
            named.extend(tenant.courses.iter().map(|course| course.key));
            named.extend(tenant.events.iter().map(|event| event.key));
        }
        let unique: BTreeSet<_> = named.iter().collect();
        assert_eq!(unique.len(), named.len(), "a key is used twice: {named:?}");
        assert_eq!(unique, KEYS.iter().collect::<BTreeSet<_>>());
    }

    #[test]
    fn the_demo_tenant_has_a_few_dozen_people_in_two_managed_teams() {
        let world = World::new();
        let members = world.demo.members();
        assert_eq!(members.len(), 7 + 24);
        let emails: BTreeSet<_> = members.iter().map(|person| &person.email).collect();
        assert_eq!(emails.len(), members.len(), "an e-mail is used twice");
        for team in &world.demo.teams {
            assert_eq!(team.learners().count(), 12);
            assert!(members.iter().any(|person| person.email == team.manager));
        }
        // Units name parents that come before them, so they are created in order.
        for (index, unit) in world.demo.units.iter().enumerate() {
            if let Some(parent) = unit.parent {
                assert!(world.demo.units[..index].iter().any(|u| u.key == parent));
            }
        }
    }

    #[test]
    fn people_are_placed_only_at_units_and_in_teams_of_their_tenant() {
        let world = World::new();
        for tenant in world.tenants() {
            let unit = |key: &str| tenant.units.iter().any(|unit| unit.key == key);
            let team = |key: &str| tenant.teams.iter().any(|team| team.key == key);
            let members = tenant.members();
            for person in &members {
                if let Standing::Assigned(_, Place::Unit(key)) = person.standing {
                    assert!(unit(key), "{}: {key}", person.email);
                }
                assert!(person.main_unit.is_none_or(unit), "{}", person.email);
                assert!(person.team.is_none_or(team), "{}", person.email);
            }
            for team in &tenant.teams {
                assert!(unit(team.home), "{}", team.name);
                assert!(members.iter().any(|person| person.email == team.manager));
            }
        }
    }

    #[test]
    fn courses_name_their_tenant_s_units_teams_and_people_and_duties_the_matrix_allows() {
        use lms_kernel::Responsibility;

        let world = World::new();
        for tenant in world.tenants() {
            let members = tenant.members();
            let person = |email: &str| {
                members
                    .iter()
                    .find(|p| p.email == email)
                    .unwrap_or_else(|| panic!("{email} is not of {}", tenant.name))
            };
            // Each duty goes to someone whose role the responsibility matrix allows it.
            let may_hold = |email: &str, duty: Responsibility| {
                let template = match person(email).standing {
                    Standing::Assigned(template, _) => template,
                    Standing::ApprovedTutor => Template::Tutor,
                    _ => Template::Student,
                };
                assert!(
                    template.responsibilities().contains(duty),
                    "{email} may not be {duty:?}"
                );
            };
            for course in &tenant.courses {
                if let Some(unit) = course.owner {
                    assert!(tenant.units.iter().any(|u| u.key == unit), "{unit}");
                }
                if let Some(team) = course.deployed_to {
                    assert!(tenant.teams.iter().any(|t| t.key == team), "{team}");
                }
                if let Some(tutor) = course.tutor {
                    may_hold(tutor, Responsibility::CourseTutor);
                }
                for administrator in course.administrators {
                    may_hold(administrator, Responsibility::CourseAdministrator);
                }
                // Asking is done as oneself, signed in; a request waits only where approval
                // is needed, and someone must be there to give it.
                for asker in course.requested_by {
                    assert!(person(asker).password, "{asker} cannot sign in");
                    assert!(course.requires_approval && course.tutor.is_some());
                }
            }
        }
        let demo = &world.demo.courses;
        assert!(demo.iter().any(|c| c.owner.is_none()));
        assert!(demo.iter().any(|c| c.owner.is_some()));
        assert!(demo.iter().any(|c| c.requires_approval));
        let tutored = demo
            .iter()
            .filter(|c| c.tutor == Some("tutor@demo.example"))
            .count();
        assert_eq!(tutored, 2, "the tour's tutor sees two of three courses");
    }

    #[test]
    fn the_roster_says_who_is_who_in_one_screen() {
        let rows = World::new().demo.roster();
        assert_eq!(rows.len(), 1 + 7 + 2);
        let multi = rows
            .iter()
            .find(|r| r.email == "multi@demo.example")
            .unwrap();
        assert_eq!(
            (multi.role.as_str(), multi.place.as_str()),
            ("Multiple Location Administrator", "North Campus")
        );
        let manager = rows
            .iter()
            .find(|r| r.email == "manager@demo.example")
            .unwrap();
        assert_eq!(manager.place, "manages Science Team, Harbour Team");
        let student = rows
            .iter()
            .find(|r| r.email == "student@demo.example")
            .unwrap();
        assert_eq!(student.place, "Science Wing, Science Team");
        assert_eq!(rows[8].email, "learner01..12@demo.example");
        assert_eq!(rows[8].place, "Science Wing, Science Team");
        let place = |email: &str| &rows.iter().find(|r| r.email == email).unwrap().place;
        assert_eq!(
            place("tutor@demo.example"),
            "tutors Lab Safety, Advanced Chemistry"
        );
        assert_eq!(
            place("assistant@demo.example"),
            "administers Advanced Chemistry"
        );
        let world = World::new();
        let chemistry = world
            .demo
            .courses
            .iter()
            .find(|c| c.requires_approval)
            .unwrap();
        assert_eq!(
            world.demo.course_summary(chemistry),
            "tenant, needs approval, student@demo.example waits"
        );
        let safety = &world.demo.courses[0];
        assert_eq!(
            world.demo.course_summary(safety),
            "tenant, deployed to Science Team"
        );
        let client = World::new().client.roster();
        assert_eq!(client[1].role, "Student (no password)");
    }
}
