//! A small tenant to decide in: a location tree, a team, courses, events, a client tenant.

use lms_kernel::{
    CourseId, EventId, GroupId, HeldRole, Object, Place, ResourceFacts, SubjectFacts, Template,
    TenantId, TenantSettings, UnitId, UserId,
};

pub struct World {
    pub tenant: TenantId,
    pub client: TenantId,
    pub settings: TenantSettings,
    /// region ⊃ city ⊃ branch
    pub region: UnitId,
    pub city: UnitId,
    pub branch: UnitId,
    pub elsewhere: UnitId,
    pub team: GroupId,
    pub other_team: GroupId,
    pub course: CourseId,
    pub other_course: CourseId,
    pub event: EventId,
    pub other_event: EventId,
}

impl World {
    pub fn new() -> World {
        World {
            tenant: TenantId::generate(),
            client: TenantId::generate(),
            settings: TenantSettings {
                locations_enabled: true,
                clients_enabled: true,
                mfa_required_for_admins: false,
            },
            region: UnitId::generate(),
            city: UnitId::generate(),
            branch: UnitId::generate(),
            elsewhere: UnitId::generate(),
            team: GroupId::generate(),
            other_team: GroupId::generate(),
            course: CourseId::generate(),
            other_course: CourseId::generate(),
            event: EventId::generate(),
            other_event: EventId::generate(),
        }
    }

    /// A subject holding `templates` at `place`.
    pub fn subject(&self, templates: &[Template], place: Place) -> SubjectFacts {
        let mut subject = SubjectFacts::new(self.tenant, UserId::generate(), self.settings);
        subject.clients = vec![self.client];
        subject.roles = templates
            .iter()
            .map(|t| HeldRole::new(&t.role(), place))
            .collect();
        subject
    }

    /// A user employed at `unit` (with the unit's ancestors), in primary group `team`.
    pub fn user_at(&self, unit: UnitId, team: Option<GroupId>) -> ResourceFacts {
        let mut user = ResourceFacts::new(self.tenant, Object::User(UserId::generate()));
        user.units = vec![unit];
        user.unit_ancestors = self.ancestors(unit);
        user.primary_group = team;
        user.groups = team.into_iter().collect();
        user
    }

    pub fn ancestors(&self, unit: UnitId) -> Vec<UnitId> {
        if unit == self.branch {
            vec![self.branch, self.city, self.region]
        } else if unit == self.city {
            vec![self.city, self.region]
        } else {
            vec![unit]
        }
    }

    pub fn course(&self, course: CourseId) -> ResourceFacts {
        ResourceFacts::new(self.tenant, Object::Course(course))
    }

    pub fn lesson(&self, course: CourseId) -> ResourceFacts {
        ResourceFacts::new(self.tenant, Object::Lesson { course })
    }

    pub fn event(&self, event: EventId, course: CourseId) -> ResourceFacts {
        ResourceFacts::new(self.tenant, Object::Event { event, course })
    }

    /// A tenant that is neither this one nor its client.
    pub fn client_of_nobody(&self) -> TenantId {
        TenantId::generate()
    }

    pub fn tenant_wide(&self) -> ResourceFacts {
        ResourceFacts::new(self.tenant, Object::TenantWide)
    }
}
