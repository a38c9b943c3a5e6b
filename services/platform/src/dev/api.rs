//! The platform's public gRPC API as the seeding calls it (identity, authorization and
//! delegation), through the client SDK
//! ([`lms_client::Client`]): a [`Caller`] holds one token (the operator's, or a person's from
//! sign-in) and makes each step find what an earlier run made before creating it, so a run that
//! stopped half-way never wedges the next.

use std::collections::HashMap;

use lms_api::authorization::v1::{AssignRoleRequest, ListUserRolesRequest};
use lms_api::common::v1::{ObjectReference, ObjectType, UserStatus};
use lms_api::delegation::v1::{
    AddCatalogueCoursesRequest, AssignResponsibilityRequest, BookUserRequest, ContentGrant, Course,
    CreateCatalogueRequest, CreateCourseRequest, CreateEventRequest, DeployCatalogueRequest,
    DeployCourseRequest, EnrolmentRequest, GrantContentRequest, ListCataloguesRequest,
    ListContentGrantsRequest, ListCoursesRequest, ListEnrolmentRequestsRequest, ListEventsRequest,
    RequestEnrolmentRequest, Responsibility, ResponsibilityKind,
};
use lms_api::identity::v1::{
    AcceptClientLinkRequest, AccountKind, AddGroupMembersRequest,
    AppointMasterAdministratorRequest, ApproveAccountRequest, CreateGroupRequest,
    CreateTenantRequest, CreateUnitRequest, CreateUserRequest, GetTenantRequest, GetUserRequest,
    Group, LinkClientTenantRequest, ListGroupsRequest, ListPlatformAuditRecordsRequest,
    ListUnitsRequest, ListUsersRequest, NewUser, SetGroupManagerRequest, SetPrimaryGroupRequest,
    Tenant, TenantSettings, UpdateTenantSettingsRequest, User,
};
use lms_client::{Client, SignedIn};
use tonic::{Code, Status};

use super::world::{self, DEMO_ADMIN_PASSWORD, EventPlan, Person, Standing, TenantPlan, Unit};
use super::{DevOperator, SeedError};

/// The largest page the listing calls answer; the demo world fits in one.
const PAGE: i32 = 1000;

fn refused(call: &'static str) -> impl FnOnce(tonic::Status) -> SeedError {
    move |status| SeedError::Refused {
        call,
        status: Box::new(status),
    }
}

/// An answer lacking what it must carry.
fn incomplete(call: &'static str) -> SeedError {
    SeedError::Refused {
        call,
        status: Box::new(tonic::Status::internal("the answer lacks its object")),
    }
}

/// Where the services the seeding calls listen (`http://host:port`).
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// Identity.
    pub identity: String,
    /// Authorization.
    pub authorization: String,
    /// Delegation.
    pub delegation: String,
}

/// Connections to identity, authorization and delegation, not yet signed in.
#[derive(Debug, Clone)]
pub struct Platform {
    identity: Client,
    authorization: Client,
    delegation: Client,
}

impl Platform {
    /// Connects to the three services.
    pub async fn connect(endpoints: &Endpoints) -> Result<Platform, SeedError> {
        Ok(Platform {
            identity: Client::anonymous(&endpoints.identity).await?,
            authorization: Client::anonymous(&endpoints.authorization).await?,
            delegation: Client::anonymous(&endpoints.delegation).await?,
        })
    }

    fn caller(&self, token: String) -> Result<Caller, SeedError> {
        Ok(Caller {
            identity: self.identity.with_token(&token)?,
            authorization: self.authorization.with_token(&token)?,
            delegation: self.delegation.with_token(&token)?,
            token,
        })
    }

    /// The platform operator, with a token from identity's `IssueServiceToken`.
    pub async fn operator(&self, operator: &DevOperator) -> Result<Caller, SeedError> {
        let token = self
            .identity
            .service_token(&operator.client_id, &operator.client_secret)
            .await
            .map_err(refused("IssueServiceToken"))?;
        self.caller(token)
    }

    /// A person of `tenant`, signed in with the demo password.
    pub async fn sign_in(&self, tenant: &str, email: &str) -> Result<Caller, SeedError> {
        let signed_in = self
            .identity
            .sign_in(tenant, email, DEMO_ADMIN_PASSWORD)
            .await
            .map_err(refused("SignIn"))?;
        match signed_in {
            SignedIn::Token(token) => self.caller(token),
            SignedIn::SecondFactor => Err(SeedError::Refused {
                call: "SignIn",
                status: Box::new(tonic::Status::failed_precondition(format!(
                    "{email} has a second factor; sign in with it"
                ))),
            }),
        }
    }
}

/// One caller of the public API.
#[derive(Clone)]
pub struct Caller {
    identity: Client,
    authorization: Client,
    delegation: Client,
    token: String,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller").finish_non_exhaustive()
    }
}

impl Caller {
    /// The caller's access token.
    pub fn token(&self) -> &str {
        &self.token
    }

    // ---- the platform operator ----

    /// Creates the tenant of `plan` with its founder as Access Coordinator (operators only);
    /// answers its id.
    pub async fn create_tenant(&self, plan: &TenantPlan) -> Result<String, SeedError> {
        let founder = &plan.founder;
        let created = self
            .identity
            .tenants()
            .create_tenant(CreateTenantRequest {
                name: plan.name.into(),
                settings: Some(settings(plan)),
                access_coordinator: Some(NewUser {
                    email: founder.email.clone(),
                    given_name: founder.given_name.into(),
                    family_name: founder.family_name.clone(),
                    password: DEMO_ADMIN_PASSWORD.into(),
                    ..Default::default()
                }),
            })
            .await
            .map_err(refused("CreateTenant"))?
            .into_inner();
        let tenant = created.tenant.ok_or_else(|| incomplete("CreateTenant"))?;
        Ok(tenant.tenant_id)
    }

    /// The oldest tenant named `name`, if an operator made one (operators only). The platform's
    /// audit trail records every tenant created, in the creation's own transaction, so a tenant
    /// a stopped run made but never kept the id of is found here.
    pub async fn tenant_named(&self, name: &str) -> Result<Option<String>, SeedError> {
        let mut oldest = None;
        let mut page_token = String::new();
        loop {
            let page = self
                .identity
                .audit()
                .list_platform_audit_records(ListPlatformAuditRecordsRequest {
                    action: "tenant.created".into(),
                    page_size: PAGE,
                    page_token,
                    ..Default::default()
                })
                .await
                .map_err(refused("ListPlatformAuditRecords"))?
                .into_inner();
            // Newest first: the last one named so is the oldest.
            for created in page.records {
                if self.tenant(&created.object_id).await?.name == name {
                    oldest = Some(created.object_id);
                }
            }
            if page.next_page_token.is_empty() {
                return Ok(oldest);
            }
            page_token = page.next_page_token;
        }
    }

    async fn tenant(&self, tenant: &str) -> Result<Tenant, SeedError> {
        self.identity
            .tenants()
            .get_tenant(GetTenantRequest {
                tenant_id: tenant.to_owned(),
            })
            .await
            .map_err(refused("GetTenant"))?
            .into_inner()
            .tenant
            .ok_or_else(|| incomplete("GetTenant"))
    }

    /// The master of `tenant`, empty when it is no client (operators only).
    pub async fn master_of(&self, tenant: &str) -> Result<String, SeedError> {
        Ok(self.tenant(tenant).await?.master_tenant_id)
    }

    /// Makes `user` a Master Administrator of `tenant` (operators only).
    pub async fn appoint_master(&self, tenant: &str, user: &str) -> Result<(), SeedError> {
        self.identity
            .tenants()
            .appoint_master_administrator(AppointMasterAdministratorRequest {
                tenant_id: tenant.to_owned(),
                user_id: user.to_owned(),
            })
            .await
            .map_err(refused("AppointMasterAdministrator"))?;
        Ok(())
    }

    // ---- a tenant's people ----

    /// The signed-in person.
    pub async fn me(&self) -> Result<User, SeedError> {
        self.identity
            .users()
            .get_user(GetUserRequest::default())
            .await
            .map_err(refused("GetUser"))?
            .into_inner()
            .user
            .ok_or_else(|| incomplete("GetUser"))
    }

    /// Switches on the features `plan` needs that the caller's tenant has off (a demo tenant
    /// from before locations were seeded), leaving the others as they are.
    pub async fn switch_on(&self, plan: &TenantPlan) -> Result<(), SeedError> {
        let tenant = self
            .identity
            .tenants()
            .get_tenant(GetTenantRequest::default())
            .await
            .map_err(refused("GetTenant"))?
            .into_inner()
            .tenant
            .ok_or_else(|| incomplete("GetTenant"))?;
        let now = tenant.settings.unwrap_or_default();
        let mut paths = Vec::new();
        if plan.locations_enabled && !now.locations_enabled {
            paths.push("locations_enabled".to_owned());
        }
        if plan.clients_enabled && !now.clients_enabled {
            paths.push("clients_enabled".to_owned());
        }
        if paths.is_empty() {
            return Ok(());
        }
        self.identity
            .tenants()
            .update_tenant_settings(UpdateTenantSettingsRequest {
                settings: Some(settings(plan)),
                update_mask: Some(prost_types::FieldMask { paths }),
            })
            .await
            .map_err(refused("UpdateTenantSettings"))?;
        Ok(())
    }

    /// Waits (at most 30 s) until authorization verifies this caller's token. Authorization
    /// fetches identity's signing keys itself, and on a first run identity's key is new: once
    /// it verifies one token of identity's, identity's own deliveries to it (a new tenant's
    /// facts) succeed the first time instead of being retried with a warning.
    pub async fn until_authorization_trusts(&self) -> Result<(), SeedError> {
        let answer = retried_while(Code::Unauthenticated, || async {
            self.authorization
                .assignments()
                .list_user_roles(ListUserRolesRequest::default())
                .await
        })
        .await;
        match answer {
            Err(status) if status.code() == Code::Unauthenticated => {
                Err(refused("ListUserRoles")(status))
            }
            // Any other answer (this one is INVALID_ARGUMENT) means the token verified.
            _ => Ok(()),
        }
    }

    /// Waits (at most 30 s) until authorization knows this caller's grants. A new tenant's
    /// facts reach authorization through identity's outbox, whose delivery is retried later when
    /// refused, as it is on a first `lms dev` under load while authorization has not yet
    /// fetched identity's new signing key: until then every call is PERMISSION_DENIED.
    pub async fn until_authorized(&self) -> Result<(), SeedError> {
        retried_while(Code::PermissionDenied, || async {
            self.identity
                .units()
                .list_units(ListUnitsRequest {
                    page_size: 1,
                    ..Default::default()
                })
                .await
        })
        .await
        .map(|_| ())
        .map_err(refused("ListUnits"))
    }

    /// The ids of `units` by key: each found by kind, name and parent, or created.
    pub async fn ensure_units(
        &self,
        units: &[Unit],
    ) -> Result<HashMap<&'static str, String>, SeedError> {
        let mut ids = HashMap::new();
        if units.is_empty() {
            return Ok(ids);
        }
        let existing = self
            .identity
            .units()
            .list_units(ListUnitsRequest {
                page_size: PAGE,
                ..Default::default()
            })
            .await
            .map_err(refused("ListUnits"))?
            .into_inner()
            .units;
        for unit in units {
            let parent = match unit.parent {
                Some(key) => ids.get(key).cloned().unwrap_or_default(),
                None => String::new(),
            };
            let found = existing.iter().find(|there| {
                there.name == unit.name
                    && there.kind == unit.kind as i32
                    && there.parent_unit_id == parent
            });
            let id = match found {
                Some(there) => there.unit_id.clone(),
                None => {
                    self.identity
                        .units()
                        .create_unit(CreateUnitRequest {
                            kind: unit.kind as i32,
                            name: unit.name.into(),
                            parent_unit_id: parent,
                            external_id: String::new(),
                        })
                        .await
                        .map_err(refused("CreateUnit"))?
                        .into_inner()
                        .unit
                        .ok_or_else(|| incomplete("CreateUnit"))?
                        .unit_id
                }
            };
            ids.insert(unit.key, id);
        }
        Ok(ids)
    }

    /// The user of `person`, and whether this call created them: an e-mail already taken is
    /// the same person, made by an earlier run, and is found by it.
    pub async fn ensure_user(
        &self,
        person: &Person,
        main_unit: Option<&str>,
    ) -> Result<(User, bool), SeedError> {
        let account_kind = match person.standing {
            Standing::ApprovedTutor => AccountKind::Tutor,
            _ => AccountKind::Standard,
        };
        let created = self
            .identity
            .users()
            .create_user(CreateUserRequest {
                user: Some(NewUser {
                    email: person.email.clone(),
                    given_name: person.given_name.into(),
                    family_name: person.family_name.clone(),
                    password: if person.password {
                        DEMO_ADMIN_PASSWORD
                    } else {
                        ""
                    }
                    .into(),
                    account_kind: account_kind as i32,
                    main_unit_id: main_unit.unwrap_or_default().into(),
                    ..Default::default()
                }),
            })
            .await;
        match created {
            Ok(answer) => Ok((
                answer
                    .into_inner()
                    .user
                    .ok_or_else(|| incomplete("CreateUser"))?,
                true,
            )),
            Err(status) if status.code() == Code::AlreadyExists => {
                Ok((self.find_user(&person.email).await?, false))
            }
            Err(status) => Err(refused("CreateUser")(status)),
        }
    }

    async fn find_user(&self, email: &str) -> Result<User, SeedError> {
        self.identity
            .users()
            .list_users(ListUsersRequest {
                query: email.to_owned(),
                page_size: PAGE,
                ..Default::default()
            })
            .await
            .map_err(refused("ListUsers"))?
            .into_inner()
            .users
            .into_iter()
            .find(|user| user.email.eq_ignore_ascii_case(email))
            .ok_or_else(|| SeedError::Refused {
                call: "ListUsers",
                status: Box::new(tonic::Status::not_found(format!(
                    "{email} is taken but not listed to its tenant's administrator"
                ))),
            })
    }

    /// Approves `user`'s tutor account if it still waits (the Access Coordinator's duty).
    pub async fn approve_if_pending(&self, user: &User) -> Result<(), SeedError> {
        if user.status != UserStatus::PendingApproval as i32 {
            return Ok(());
        }
        self.identity
            .approvals()
            .approve_account(ApproveAccountRequest {
                user_id: user.user_id.clone(),
                at_least_as_fresh: None,
            })
            .await
            .map_err(refused("ApproveAccount"))?;
        Ok(())
    }

    /// Whether `user` holds `role` at `unit` (empty: the tenant).
    pub async fn holds(&self, user: &str, role: &str, unit: &str) -> Result<bool, SeedError> {
        let held = self
            .authorization
            .assignments()
            .list_user_roles(ListUserRolesRequest {
                user_id: user.to_owned(),
                include_inactive: false,
            })
            .await
            .map_err(refused("ListUserRoles"))?
            .into_inner()
            .assignments;
        Ok(held.iter().any(|a| a.role_id == role && a.unit_id == unit))
    }

    /// Assigns `role` to `user` at `unit` (empty: the tenant) as their main role.
    pub async fn assign(&self, user: &str, role: &str, unit: &str) -> Result<(), SeedError> {
        self.authorization
            .assignments()
            .assign_role(AssignRoleRequest {
                user_id: user.to_owned(),
                role_id: role.to_owned(),
                unit_id: unit.to_owned(),
                main_role: true,
                ..Default::default()
            })
            .await
            .map_err(refused("AssignRole"))?;
        Ok(())
    }

    // ---- teams ----

    /// The groups of the caller's tenant.
    pub async fn groups_now(&self) -> Result<Vec<Group>, SeedError> {
        Ok(self
            .identity
            .groups()
            .list_groups(ListGroupsRequest {
                page_size: PAGE,
                page_token: String::new(),
            })
            .await
            .map_err(refused("ListGroups"))?
            .into_inner()
            .groups)
    }

    /// Creates a group named `name`.
    pub async fn create_group(&self, name: &str) -> Result<Group, SeedError> {
        self.identity
            .groups()
            .create_group(CreateGroupRequest {
                name: name.to_owned(),
                external_id: String::new(),
            })
            .await
            .map_err(refused("CreateGroup"))?
            .into_inner()
            .group
            .ok_or_else(|| incomplete("CreateGroup"))
    }

    /// Adds `users` to `group` (members already in it stay, once).
    pub async fn add_members(&self, group: &str, users: Vec<String>) -> Result<(), SeedError> {
        self.identity
            .groups()
            .add_group_members(AddGroupMembersRequest {
                group_id: group.to_owned(),
                user_ids: users,
            })
            .await
            .map_err(refused("AddGroupMembers"))?;
        Ok(())
    }

    /// Makes `group` the team of `user`.
    pub async fn set_primary_group(&self, user: &str, group: &str) -> Result<(), SeedError> {
        self.identity
            .groups()
            .set_primary_group(SetPrimaryGroupRequest {
                user_id: user.to_owned(),
                group_id: group.to_owned(),
            })
            .await
            .map_err(refused("SetPrimaryGroup"))?;
        Ok(())
    }

    /// Makes `manager` the group manager of `group`.
    pub async fn set_manager(&self, group: &str, manager: &str) -> Result<(), SeedError> {
        self.identity
            .groups()
            .set_group_manager(SetGroupManagerRequest {
                group_id: group.to_owned(),
                manager_user_id: manager.to_owned(),
            })
            .await
            .map_err(refused("SetGroupManager"))?;
        Ok(())
    }

    // ---- masters and clients ----

    /// Invites `client` to become a client of the caller's (master) tenant.
    pub async fn invite_client(&self, client: &str) -> Result<(), SeedError> {
        self.identity
            .tenants()
            .link_client_tenant(LinkClientTenantRequest {
                client_tenant_id: client.to_owned(),
            })
            .await
            .map_err(refused("LinkClientTenant"))?;
        Ok(())
    }

    /// Accepts `master`'s invitation: the caller's tenant becomes its client.
    pub async fn accept_master(&self, master: &str) -> Result<(), SeedError> {
        self.identity
            .tenants()
            .accept_client_link(AcceptClientLinkRequest {
                master_tenant_id: master.to_owned(),
            })
            .await
            .map_err(refused("AcceptClientLink"))?;
        Ok(())
    }

    // ---- courses ----

    /// The active courses the caller may see. An archived one (deleted after people enrolled)
    /// is left alone: nothing can be deployed to it, so a course of its title is made anew.
    pub async fn courses_now(&self) -> Result<Vec<Course>, SeedError> {
        let mut courses = Vec::new();
        let mut page_token = String::new();
        loop {
            let page = self
                .delegation
                .courses()
                .list_courses(ListCoursesRequest {
                    page_size: PAGE,
                    page_token,
                    include_archived: false,
                })
                .await
                .map_err(refused("ListCourses"))?
                .into_inner();
            courses.extend(page.courses);
            if page.next_page_token.is_empty() {
                return Ok(courses);
            }
            page_token = page.next_page_token;
        }
    }

    /// Creates the course of `plan`, owned by `unit` (empty: the tenant).
    pub async fn create_course(
        &self,
        plan: &world::Course,
        unit: &str,
    ) -> Result<Course, SeedError> {
        self.delegation
            .courses()
            .create_course(CreateCourseRequest {
                title: plan.title.into(),
                description: plan.description.into(),
                unit_id: unit.to_owned(),
                enrolment_requires_approval: plan.requires_approval,
            })
            .await
            .map_err(refused("CreateCourse"))?
            .into_inner()
            .course
            .ok_or_else(|| incomplete("CreateCourse"))
    }

    /// Gives `user` the duty `kind` on `course`, for good.
    pub async fn give_duty(
        &self,
        course: &str,
        user: &str,
        kind: ResponsibilityKind,
    ) -> Result<(), SeedError> {
        self.delegation
            .responsibilities()
            .assign_responsibility(AssignResponsibilityRequest {
                responsibility: Some(Responsibility {
                    kind: kind as i32,
                    user_id: user.to_owned(),
                    object: Some(ObjectReference {
                        r#type: ObjectType::Course as i32,
                        id: course.to_owned(),
                        tenant_id: String::new(),
                    }),
                    valid_from: None,
                    valid_until: None,
                }),
            })
            .await
            .map_err(refused("AssignResponsibility"))?;
        Ok(())
    }

    /// Deploys `course` to every member of `group` (those enrolled already stay as they are).
    pub async fn deploy(&self, course: &str, group: &str) -> Result<(), SeedError> {
        self.delegation
            .courses()
            .deploy_course(DeployCourseRequest {
                course_id: course.to_owned(),
                group_ids: vec![group.to_owned()],
                ..Default::default()
            })
            .await
            .map_err(refused("DeployCourse"))?;
        Ok(())
    }

    /// The caller's tenant's content grants to `client`.
    pub async fn grants_to(&self, client: &str) -> Result<Vec<ContentGrant>, SeedError> {
        Ok(self
            .delegation
            .grants()
            .list_content_grants(ListContentGrantsRequest {
                client_tenant_id: client.to_owned(),
                page_size: 1000,
                page_token: String::new(),
            })
            .await
            .map_err(refused("ListContentGrants"))?
            .into_inner()
            .grants)
    }

    /// Grants `course` of the caller's tenant to `client`, for good.
    pub async fn grant_course(&self, client: &str, course: &str) -> Result<(), SeedError> {
        self.delegation
            .grants()
            .grant_content(GrantContentRequest {
                client_tenant_id: client.to_owned(),
                course_id: course.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(refused("GrantContent"))?;
        Ok(())
    }

    /// The catalogue named `name` (found, or created) holding `courses` and deployed to
    /// `learners`; adding and deploying again change nothing.
    pub async fn catalogue(
        &self,
        name: &str,
        courses: &[String],
        learners: &[String],
    ) -> Result<(), SeedError> {
        let mut catalogues = self.delegation.catalogues();
        let listed = catalogues
            .list_catalogues(ListCataloguesRequest {
                page_size: 1000,
                page_token: String::new(),
            })
            .await
            .map_err(refused("ListCatalogues"))?
            .into_inner()
            .catalogues;
        let (id, holds) = match listed.into_iter().find(|c| c.name == name) {
            Some(found) => (found.catalogue_id, found.course_ids),
            None => {
                let made = catalogues
                    .create_catalogue(CreateCatalogueRequest {
                        name: name.to_owned(),
                        course_ids: Vec::new(),
                    })
                    .await
                    .map_err(refused("CreateCatalogue"))?
                    .into_inner()
                    .catalogue
                    .ok_or_else(|| incomplete("CreateCatalogue"))?;
                (made.catalogue_id, Vec::new())
            }
        };
        // Only what it lacks: a course it holds already is not asked about again (it may have
        // been archived since, which adding would refuse).
        let missing: Vec<String> = courses
            .iter()
            .filter(|course| !holds.contains(course))
            .cloned()
            .collect();
        if !missing.is_empty() {
            catalogues
                .add_catalogue_courses(AddCatalogueCoursesRequest {
                    catalogue_id: id.clone(),
                    course_ids: missing,
                })
                .await
                .map_err(refused("AddCatalogueCourses"))?;
        }
        if learners.is_empty() {
            return Ok(());
        }
        catalogues
            .deploy_catalogue(DeployCatalogueRequest {
                catalogue_id: id,
                user_ids: learners.to_vec(),
                group_ids: Vec::new(),
            })
            .await
            .map_err(refused("DeployCatalogue"))?;
        Ok(())
    }

    /// The caller's own enrolment requests on `course`, whatever their state.
    pub async fn my_requests(&self, course: &str) -> Result<Vec<EnrolmentRequest>, SeedError> {
        let me = self.me().await?;
        Ok(self
            .delegation
            .enrolments()
            .list_enrolment_requests(ListEnrolmentRequestsRequest {
                course_id: course.to_owned(),
                user_id: me.user_id,
                page_size: PAGE,
                ..Default::default()
            })
            .await
            .map_err(refused("ListEnrolmentRequests"))?
            .into_inner()
            .requests)
    }

    /// The id of `plan`'s event of `course` (found by title, or created `plan.days_ahead` days
    /// from now).
    pub async fn event(&self, course: &str, plan: &EventPlan) -> Result<String, SeedError> {
        let mut events = self.delegation.events();
        let listed = events
            .list_events(ListEventsRequest {
                course_id: course.to_owned(),
                page_size: PAGE,
                page_token: String::new(),
            })
            .await
            .map_err(refused("ListEvents"))?
            .into_inner()
            .events;
        if let Some(found) = listed.into_iter().find(|e| e.title == plan.title) {
            return Ok(found.event_id);
        }
        let starts = lms_runtime::clock::now() + plan.days_ahead * 86_400;
        let at = |seconds| Some(prost_types::Timestamp { seconds, nanos: 0 });
        Ok(events
            .create_event(CreateEventRequest {
                course_id: course.to_owned(),
                title: plan.title.to_owned(),
                starts_at: at(starts),
                ends_at: at(starts + plan.hours * 3_600),
                capacity: plan.capacity,
                place: plan.place.to_owned(),
                ..Default::default()
            })
            .await
            .map_err(refused("CreateEvent"))?
            .into_inner()
            .event
            .ok_or_else(|| incomplete("CreateEvent"))?
            .event_id)
    }

    /// Books `user` (the caller when empty) onto `event`; someone booked already stays as they
    /// are.
    pub async fn book(&self, event: &str, user: &str) -> Result<(), SeedError> {
        self.delegation
            .events()
            .book_user(BookUserRequest {
                event_id: event.to_owned(),
                user_id: user.to_owned(),
            })
            .await
            .map_err(refused("BookUser"))?;
        Ok(())
    }

    /// Asks to join `course` as the caller.
    pub async fn ask_to_join(&self, course: &str) -> Result<(), SeedError> {
        self.delegation
            .enrolments()
            .request_enrolment(RequestEnrolmentRequest {
                course_id: course.to_owned(),
            })
            .await
            .map_err(refused("RequestEnrolment"))?;
        Ok(())
    }
}

fn settings(plan: &TenantPlan) -> TenantSettings {
    TenantSettings {
        locations_enabled: plan.locations_enabled,
        clients_enabled: plan.clients_enabled,
        mfa_required_for_admins: false,
    }
}

/// `call`'s answer once it is anything but `code`, asking again every 100 ms for at most 30 s
/// (then its last answer, whatever it is).
async fn retried_while<T, F, Fut>(code: Code, mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Status>>,
{
    let started = std::time::Instant::now();
    loop {
        match call().await {
            Err(status)
                if status.code() == code
                    && started.elapsed() < std::time::Duration::from_secs(30) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            answer => return answer,
        }
    }
}
