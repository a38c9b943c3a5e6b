//! A tenant's integrations (issue 15): a service account a person of the tenant made carries
//! its holder in its token, and whatever it assigns, revokes or asks about itself is decided as
//! if the holder did it (as a password-only session of theirs unless the holder set its secret
//! with a second factor), so an integration never reaches further than the person who made it.
//! The audit names the integration and the holder. One an operator made is trusted within its
//! scope, and is no platform service for all that; the platform's own services stay trusted.

use lms_api::authorization::v1::check_escalation_request::Question;
use lms_api::authorization::v1::permission_service_client::PermissionServiceClient;
use lms_api::authorization::v1::role_assignment_service_client::RoleAssignmentServiceClient;
use lms_api::authorization::v1::{
    AssignRoleRequest, AssignRoleResponse, CheckEscalationRequest, Decision, ExplainRequest,
    ListAuditRecordsRequest, ListUserRolesRequest, RevokeRoleRequest, RolePlacement, SubjectStatus,
    TenantFacts,
};
use lms_api::common::v1::consistency::Requirement;
use lms_api::common::v1::{Consistency, ObjectType, UserStatus};
use lms_kernel::UserId;
use lms_runtime::auth::{Scope, Scopes};
use lms_runtime::client::CallCredentials;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::fixture::{Fixture, reason, reference, uuid_v4};

type Client = RoleAssignmentServiceClient<InterceptedService<Channel, CallCredentials>>;

/// The role-assignment client of an integration named `hr-feed` held by `holder`.
fn integration_of(f: &Fixture, holder: UserId) -> Client {
    let token = f.auth.held_service_token(
        "hr-feed",
        f.tenant,
        holder,
        Scopes::of([Scope::AssignRoles, Scope::Decide]),
    );
    RoleAssignmentServiceClient::new(f.service.authorized(&token))
}

async fn assign(
    client: &mut Client,
    user: UserId,
    template: &str,
) -> Result<AssignRoleResponse, tonic::Status> {
    client
        .assign_role(AssignRoleRequest {
            user_id: user.to_string(),
            role_id: format!("builtin:{template}"),
            ..Default::default()
        })
        .await
        .map(tonic::Response::into_inner)
}

/// Each assignment change as authorization's audit names its actor, newest first.
async fn audit_actors(f: &Fixture, reader: UserId) -> Vec<(String, String)> {
    RoleAssignmentServiceClient::new(f.service.authorized(&f.user_token(reader)))
        .list_audit_records(ListAuditRecordsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .records
        .into_iter()
        .map(|r| (r.action, r.stamp.unwrap().actor_id))
        .collect()
}

#[tokio::test]
async fn an_integration_assigns_what_its_holder_may_and_the_audit_names_both() {
    let f = Fixture::start().await;
    // Clients on, so Master Administrator is refused for the holder's reach, not the tenant.
    f.settings(false, true).await;
    let administrator = f.holder("builtin:lms_administrator", None).await;
    let (learner, someone_else) = (f.user().await, f.user().await);
    let mut integration = integration_of(&f, administrator);

    let assigned = integration
        .assign_role(AssignRoleRequest {
            user_id: learner.to_string(),
            role_id: "builtin:tutor".into(),
            // An integration acts for its holder; it cannot name someone else.
            on_behalf_of: someone_else.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let actor = format!("integration:hr-feed for {administrator}");
    let stamp = assigned.assignment.unwrap().assigned.unwrap();
    assert_eq!(stamp.actor_id, actor);
    assert_eq!(
        audit_actors(&f, administrator).await[0],
        ("role_assignment.created".into(), actor)
    );

    // The LMS Administrator reaches the tenant, not its clients: neither does their integration.
    let refused = assign(&mut integration, learner, "master_administrator")
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "ESCALATION".into())
    );
    assert!(
        refused.message().contains("tenant_and_clients"),
        "{refused:?}"
    );
    // A platform service holding no one is trusted, as before.
    let mut platform = RoleAssignmentServiceClient::new(f.service.authorized(&f.identity_token()));
    assign(&mut platform, learner, "master_administrator")
        .await
        .unwrap();
}

#[tokio::test]
async fn an_integration_reads_and_revokes_only_where_its_holder_may() {
    let f = Fixture::start().await;
    let tutor = f.holder("builtin:tutor", None).await;
    let administrator = f.holder("builtin:lms_administrator", None).await;
    let learner = f.user().await;
    let mut tutors = integration_of(&f, tutor);

    let refused = assign(&mut tutors, learner, "student").await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("role_assignments.create"));
    let roles = |user: UserId| ListUserRolesRequest {
        user_id: user.to_string(),
        include_inactive: false,
    };
    let refused = tutors.list_user_roles(roles(learner)).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    assert!(refused.message().contains("role_assignments.read"));
    // Its holder's own roles it may read, as the holder may.
    assert_eq!(
        tutors
            .list_user_roles(roles(tutor))
            .await
            .unwrap()
            .into_inner()
            .assignments
            .len(),
        1
    );

    // What the administrator's integration gave, the tutor's cannot take back.
    let mut administrators = integration_of(&f, administrator);
    let given = assign(&mut administrators, learner, "manager")
        .await
        .unwrap()
        .assignment
        .unwrap()
        .assignment_id;
    let by_id = RevokeRoleRequest {
        assignment_id: given.clone(),
        ..Default::default()
    };
    let refused = tutors.revoke_role(by_id.clone()).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    // Nor sweep a person's roles the way the platform's services take back what they gave.
    let sweep = RevokeRoleRequest {
        user_id: learner.to_string(),
        event_id: uuid_v4(),
        ..Default::default()
    };
    let refused = administrators.revoke_role(sweep).await.unwrap_err();
    assert_eq!(reason(&refused), "PLATFORM_SERVICE_REQUIRED");
    assert_eq!(
        f.roles_of(administrator, learner).await,
        ["builtin:manager"]
    );

    administrators.revoke_role(by_id).await.unwrap();
    assert!(f.roles_of(administrator, learner).await.is_empty());
    assert_eq!(
        audit_actors(&f, administrator).await[0],
        (
            "role_assignment.revoked".into(),
            format!("integration:hr-feed for {administrator}")
        )
    );
}

#[tokio::test]
async fn an_integration_whose_holder_is_suspended_assigns_nothing() {
    let f = Fixture::start().await;
    let administrator = f.holder("builtin:lms_administrator", None).await;
    let learner = f.user().await;
    let mut integration = integration_of(&f, administrator);
    assign(&mut integration, learner, "tutor").await.unwrap();

    let suspended = SubjectStatus {
        user_id: administrator.to_string(),
        status: UserStatus::Suspended as i32,
        restrict_bookings: false,
    };
    f.write(Vec::new(), None, vec![suspended]).await;
    let refused = assign(&mut integration, learner, "student")
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "SUBJECT_NOT_ACTIVE".into())
    );
}

impl Fixture {
    /// The role ids `user` holds, as `reader` sees them.
    async fn roles_of(&self, reader: UserId, user: UserId) -> Vec<String> {
        RoleAssignmentServiceClient::new(self.service.authorized(&self.user_token(reader)))
            .list_user_roles(ListUserRolesRequest {
                user_id: user.to_string(),
                include_inactive: false,
            })
            .await
            .unwrap()
            .into_inner()
            .assignments
            .into_iter()
            .map(|a| a.role_id)
            .collect()
    }
}

#[tokio::test]
async fn an_integration_assigns_by_hand_and_cannot_replay_an_event() {
    let f = Fixture::start().await;
    let administrator = f.holder("builtin:lms_administrator", None).await;
    let learner = f.user().await;
    let mut integration = integration_of(&f, administrator);
    // Claiming the feed's source (which the platform's services revoke by) or naming an event
    // (whose redelivery answers before any check) changes nothing: it assigns by hand.
    let event = uuid_v4();
    let claimed = AssignRoleRequest {
        user_id: learner.to_string(),
        role_id: "builtin:tutor".into(),
        source: lms_api::authorization::v1::AssignmentSource::PeopleDataFeed as i32,
        event_id: event.clone(),
        ..Default::default()
    };
    let given = integration
        .assign_role(claimed)
        .await
        .unwrap()
        .into_inner()
        .assignment
        .unwrap();
    assert_eq!(
        given.source,
        lms_api::authorization::v1::AssignmentSource::Manual as i32
    );
    assert_ne!(given.assignment_id, event);
}

#[tokio::test]
async fn an_integration_asks_about_others_only_where_its_holder_may() {
    use lms_api::authorization::v1::{CheckRequest, LookupSubjectsRequest};
    use lms_api::common::v1::ObjectReference;
    let f = Fixture::start().await;
    let administrator = f.holder("builtin:lms_administrator", None).await;
    let tutor = f.holder("builtin:tutor", None).await;
    let learner = f.user().await;
    let decisions = |holder: UserId| {
        let token = f.auth.held_service_token(
            "content-player",
            f.tenant,
            holder,
            Scopes::of([Scope::Decide]),
        );
        PermissionServiceClient::new(f.service.authorized(&token))
    };
    let about_learner = CheckRequest {
        subject_id: learner.to_string(),
        permission: "users.read".into(),
        resource: Some(ObjectReference {
            r#type: ObjectType::User as i32,
            id: learner.to_string(),
            tenant_id: String::new(),
        }),
        consistency: None,
    };
    decisions(administrator)
        .check(about_learner.clone())
        .await
        .unwrap();
    // A Tutor reads nobody's role assignments, so their integration asks about nobody else.
    let refused = decisions(tutor).check(about_learner).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let who = LookupSubjectsRequest {
        permission: "users.read".into(),
        resource: Some(ObjectReference {
            r#type: ObjectType::User as i32,
            id: learner.to_string(),
            tenant_id: String::new(),
        }),
        ..Default::default()
    };
    let refused = decisions(tutor)
        .lookup_subjects(who.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    decisions(administrator).lookup_subjects(who).await.unwrap();
}

/// The decisions client of an integration of `f`'s tenant holding `scopes`, held by `holder`
/// (none: an operator made it), its secret set with a second factor or not.
fn decisions_of(
    f: &Fixture,
    holder: Option<UserId>,
    scopes: Scopes,
    second_factor: bool,
) -> PermissionServiceClient<InterceptedService<Channel, CallCredentials>> {
    let token = f
        .auth
        .integration_token("hr-feed", f.tenant, holder, scopes, second_factor);
    PermissionServiceClient::new(f.service.authorized(&token))
}

/// Explain `permission` on the tenant, fully consistent (a tenant setting just written counts).
fn explain_on_tenant(f: &Fixture, permission: &str, subject: Option<UserId>) -> ExplainRequest {
    ExplainRequest {
        subject_id: subject.map(|s| s.to_string()).unwrap_or_default(),
        permission: permission.into(),
        resource: Some(reference(ObjectType::Tenant, f.tenant)),
        consistency: Some(Consistency {
            requirement: Some(Requirement::FullyConsistent(true)),
        }),
    }
}

fn assigning(template: &str) -> CheckEscalationRequest {
    CheckEscalationRequest {
        question: Some(Question::AssignedRole(RolePlacement {
            role_id: format!("builtin:{template}"),
            unit_id: String::new(),
        })),
    }
}

/// The decision and denial reason of an Explain.
async fn explained(
    client: &mut PermissionServiceClient<InterceptedService<Channel, CallCredentials>>,
    request: ExplainRequest,
) -> (Decision, String) {
    let answer = client.explain(request).await.unwrap().into_inner();
    let decision = answer.decision();
    (decision, answer.explanation.unwrap().denial_reason)
}

#[tokio::test]
async fn an_integration_asks_about_its_holders_rights_without_the_decide_scope() {
    let f = Fixture::start().await;
    let administrator = f.holder("builtin:lms_administrator", None).await;
    let tutor = f.holder("builtin:tutor", None).await;
    let learner = f.user().await;
    let feed_only = Scopes::of([Scope::PeopleImport]);
    let mut feed = decisions_of(&f, Some(administrator), feed_only, false);

    // What it may do itself (identity asks so before its import): its holder's rights.
    for subject in [None, Some(administrator)] {
        let answer = explained(&mut feed, explain_on_tenant(&f, "users.import", subject)).await;
        assert_eq!(answer, (Decision::Allowed, String::new()));
    }
    let allowed = feed.check_escalation(assigning("manager")).await.unwrap();
    assert_eq!(allowed.into_inner().decision(), Decision::Allowed);
    let mut tutors_feed = decisions_of(&f, Some(tutor), feed_only, false);
    assert_eq!(
        explained(
            &mut tutors_feed,
            explain_on_tenant(&f, "users.import", None)
        )
        .await,
        (Decision::Denied, "NO_GRANT".into())
    );
    let refused = tutors_feed
        .check_escalation(assigning("manager"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (refused.decision(), refused.denial_reason.as_str()),
        (Decision::Denied, "ESCALATION")
    );

    // About anyone else it needs the decide scope, whatever its holder may read.
    let refused = feed
        .explain(explain_on_tenant(&f, "users.read", Some(learner)))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::PermissionDenied, "SCOPE_REQUIRED".into())
    );
    assert!(
        refused.message().contains("authorization.decide"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn an_integration_acts_as_its_holders_password_only_session_unless_its_secret_was_set_with_a_second_factor()
 {
    let f = Fixture::start().await;
    let administrator = f.holder("builtin:lms_administrator", None).await;
    let scopes = Scopes::of([Scope::PeopleImport]);
    let mut password_only = decisions_of(&f, Some(administrator), scopes, false);
    let mut with_second_factor = decisions_of(&f, Some(administrator), scopes, true);
    let importing = || explain_on_tenant(&f, "users.import", None);
    // A tenant that does not ask for a second factor asks none of its integrations either.
    assert_eq!(
        explained(&mut password_only, importing()).await.0,
        Decision::Allowed
    );

    f.write(
        Vec::new(),
        Some(TenantFacts {
            locations_enabled: false,
            clients_enabled: false,
            mfa_required_for_admins: true,
        }),
        Vec::new(),
    )
    .await;
    assert_eq!(
        explained(&mut password_only, importing()).await,
        (Decision::Denied, "MFA_REQUIRED".into())
    );
    let refused = password_only
        .check_escalation(assigning("manager"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(refused.decision(), Decision::Denied, "{refused:?}");
    // Its holder's harmless grants stay, as a password-only session's do.
    assert_eq!(
        explained(
            &mut password_only,
            explain_on_tenant(&f, "courses.read", None)
        )
        .await
        .0,
        Decision::Allowed
    );

    assert_eq!(
        explained(&mut with_second_factor, importing()).await,
        (Decision::Allowed, String::new())
    );
    let allowed = with_second_factor
        .check_escalation(assigning("manager"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(allowed.decision(), Decision::Allowed);
}

#[tokio::test]
async fn an_integration_an_operator_made_is_trusted_within_its_scope_and_is_no_platform_service() {
    let f = Fixture::start().await;
    let reader = f.holder("builtin:lms_administrator", None).await;
    let learner = f.user().await;
    let token = f.auth.integration_token(
        "identity",
        f.tenant,
        None,
        Scopes::of([Scope::AssignRoles]),
        false,
    );
    let mut trusted = RoleAssignmentServiceClient::new(f.service.authorized(&token));

    // Nobody bounds it: it hands out what no person of the tenant could, the tenant's
    // preconditions still holding.
    let refused = assign(&mut trusted, learner, "master_administrator")
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused)),
        (Code::FailedPrecondition, "TENANT_PRECONDITION".into())
    );
    f.settings(false, true).await;
    let event = uuid_v4();
    let given = trusted
        .assign_role(AssignRoleRequest {
            user_id: learner.to_string(),
            role_id: "builtin:master_administrator".into(),
            event_id: event.clone(),
            on_behalf_of: reader.to_string(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .assignment
        .unwrap();
    // Named like identity, audited as the tenant's integration it is; it speaks for nobody
    // else and replays no event.
    assert_eq!(given.assigned.unwrap().actor_id, "integration:identity");
    assert_ne!(given.assignment_id, event);
    assert_eq!(
        audit_actors(&f, reader).await[0],
        (
            "role_assignment.created".into(),
            "integration:identity".into()
        )
    );
    let sweep = RevokeRoleRequest {
        user_id: learner.to_string(),
        event_id: uuid_v4(),
        ..Default::default()
    };
    let refused = trusted.revoke_role(sweep).await.unwrap_err();
    assert_eq!(reason(&refused), "PLATFORM_SERVICE_REQUIRED");
}

#[tokio::test]
async fn a_platform_service_names_the_integration_and_holder_it_assigned_for() {
    let f = Fixture::start().await;
    let holder = f.holder("builtin:lms_administrator", None).await;
    let learner = f.user().await;
    let mut identity = RoleAssignmentServiceClient::new(f.service.authorized(&f.identity_token()));
    let for_feed = |integration: &str| AssignRoleRequest {
        user_id: learner.to_string(),
        role_id: "builtin:manager".into(),
        event_id: uuid_v4(),
        on_behalf_of: holder.to_string(),
        on_behalf_of_integration: integration.into(),
        ..Default::default()
    };
    let given = identity
        .assign_role(for_feed("hr-feed"))
        .await
        .unwrap()
        .into_inner()
        .assignment
        .unwrap();
    assert_eq!(
        given.assigned.unwrap().actor_id,
        format!("integration:hr-feed for {holder}")
    );
    identity
        .revoke_role(RevokeRoleRequest {
            user_id: learner.to_string(),
            role_id: "builtin:manager".into(),
            event_id: uuid_v4(),
            on_behalf_of_integration: "hr-feed".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        audit_actors(&f, holder).await[0],
        (
            "role_assignment.revoked".into(),
            "integration:hr-feed".into()
        )
    );
    let refused = identity
        .assign_role(for_feed("HR feed; drop"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("on_behalf_of_integration"),
        "{refused:?}"
    );
}
