//! The demo world `lms dev` seeds, as data: three tenants, their units, people, roles and teams.
//! The seeding flow (`seed`) walks it; the banner prints its roster; `demo.env` names its ids by
//! the keys given here. The README's tour is written against exactly this world.

use lms_api::identity::v1::UnitKind;
use lms_kernel::Template;

/// The password of every named demo person, the demo administrator's included: this is a
/// development platform on a laptop, and the banner prints it.
pub const DEMO_ADMIN_PASSWORD: &str = "lms-dev-orchard-lantern";

/// The keys of `demo.env`, in the order it lists them: the ids of the world's tenants, units,
/// people and teams.
pub const KEYS: [&str; 20] = [
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
    "STUDENT_ID",
    "LEARNER01_ID",
    "SCIENCE_TEAM",
    "HARBOUR_TEAM",
    "GROUP_ADMIN_ID",
    "MASTER_ID",
    "CLIENT_ADMIN_ID",
    "CLIENT_LEARNER_ID",
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
}

/// The demo world.
#[derive(Debug, Clone)]
pub struct World {
    /// Demo Academy: locations, accounts, teams and every kind of administrator.
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
        }
        let unique: BTreeSet<_> = named.iter().collect();
        assert_eq!(unique.len(), named.len(), "a key is used twice: {named:?}");
        assert_eq!(unique, KEYS.iter().collect::<BTreeSet<_>>());
    }

    #[test]
    fn the_demo_tenant_has_a_few_dozen_people_in_two_managed_teams() {
        let world = World::new();
        let members = world.demo.members();
        assert_eq!(members.len(), 6 + 24);
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
    fn the_roster_says_who_is_who_in_one_screen() {
        let rows = World::new().demo.roster();
        assert_eq!(rows.len(), 1 + 6 + 2);
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
        assert_eq!(rows[7].email, "learner01..12@demo.example");
        assert_eq!(rows[7].place, "Science Wing, Science Team");
        let client = World::new().client.roster();
        assert_eq!(client[1].role, "Student (no password)");
    }
}
