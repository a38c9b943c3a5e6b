//! Tenant settings, client tenants, custom fields and named managers.

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::identity::v1::{
    AcceptClientLinkRequest, AddNamedManagerRequest, CreateUserRequest, CustomFieldDefinition,
    DefineCustomFieldRequest, GetTenantRequest, LinkClientTenantRequest,
    ListClientInvitationsRequest, ListClientTenantsRequest, ListCustomFieldsRequest,
    NamedManagerPurpose, NewUser, SignInRequest, TenantSettings, UnlinkClientTenantRequest,
    UpdateTenantSettingsRequest, sign_in_response,
};
use prost_types::FieldMask;
use tonic::Code;

use crate::fixture::{Platform, USER_PASSWORD, fields, object, reason};

fn new_user(email: &str, fields: &[(&str, &str)]) -> CreateUserRequest {
    CreateUserRequest {
        user: Some(NewUser {
            email: email.into(),
            given_name: "Cy".into(),
            family_name: "Field".into(),
            custom_fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }),
    }
}

#[tokio::test]
async fn mandatory_custom_fields_are_required_and_unknown_ones_refused() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    // Created before the field existed.
    platform.create_user(&admin, "stu@example.org", "").await;
    platform
        .users(&admin)
        .define_custom_field(DefineCustomFieldRequest {
            field: Some(CustomFieldDefinition {
                key: "employee_number".into(),
                label: "Employee number".into(),
                mandatory: true,
            }),
        })
        .await
        .unwrap();

    let refused = platform
        .users(&admin)
        .create_user(new_user("cy@example.org", &[("shoe_size", "9")]))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        fields(&refused),
        [
            "user.custom_fields[shoe_size]",
            "user.custom_fields[employee_number]"
        ]
    );
    let created = platform
        .users(&admin)
        .create_user(new_user("cy@example.org", &[("employee_number", "E-17")]))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(created.custom_fields["employee_number"], "E-17");

    let student = platform
        .sign_in("stu@example.org", USER_PASSWORD)
        .await
        .unwrap()
        .access_token;
    let listed = platform
        .users(&student)
        .list_custom_fields(ListCustomFieldsRequest {})
        .await
        .unwrap()
        .into_inner()
        .fields;
    assert_eq!(listed.len(), 1);
    let denied = platform
        .users(&student)
        .define_custom_field(DefineCustomFieldRequest {
            field: Some(CustomFieldDefinition {
                key: "mine".into(),
                label: "Mine".into(),
                mandatory: false,
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
}

/// The client tenant's coordinator (`another_tenant`'s first user), signed in.
async fn client_coordinator_token(platform: &Platform, client: &str) -> String {
    let signed_in = platform
        .authn()
        .sign_in(SignInRequest {
            tenant_id: client.to_owned(),
            email: "cc@client.example".into(),
            password: USER_PASSWORD.into(),
        })
        .await
        .unwrap()
        .into_inner();
    let Some(sign_in_response::Outcome::Tokens(tokens)) = signed_in.outcome else {
        panic!("the client's coordinator signs in");
    };
    tokens.access_token
}

#[tokio::test]
async fn a_master_administrator_reaches_a_linked_client_until_it_is_unlinked() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let (client, client_coordinator) = platform
        .another_tenant("Client Co", "cc@client.example")
        .await;
    let disabled = platform
        .tenants(&admin)
        .link_client_tenant(LinkClientTenantRequest {
            client_tenant_id: client.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&disabled), "CLIENTS_DISABLED");
    platform.enable_clients(&admin).await;
    // Only a trusted service hands out Master Administrator: no person holds more.
    platform
        .assign_as_service(&platform.admin.to_string(), "master_administrator")
        .await;
    let itself = platform
        .tenants(&admin)
        .link_client_tenant(LinkClientTenantRequest {
            client_tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&itself), "CLIENT_NOT_LINKABLE");

    let client_person = ObjectReference {
        r#type: ObjectType::User as i32,
        id: client_coordinator,
        tenant_id: client.clone(),
    };
    // The client's administrator cannot be linked without consent (security review H2).
    let client_admin = client_coordinator_token(&platform, &client).await;
    let uninvited = platform
        .tenants(&client_admin)
        .accept_client_link(AcceptClientLinkRequest {
            master_tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&uninvited), "NO_INVITATION");
    let invited = platform
        .tenants(&admin)
        .link_client_tenant(LinkClientTenantRequest {
            client_tenant_id: client.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(invited.pending && invited.written_at.is_none());
    assert!(
        !platform
            .allowed(&admin, "users.read", client_person.clone(), None)
            .await,
        "an invitation alone reaches nobody"
    );
    let waiting = platform
        .tenants(&client_admin)
        .list_client_invitations(ListClientInvitationsRequest {})
        .await
        .unwrap()
        .into_inner()
        .master_tenant_ids;
    assert_eq!(waiting, [platform.tenant.to_string()]);
    let linked = platform
        .tenants(&client_admin)
        .accept_client_link(AcceptClientLinkRequest {
            master_tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        platform
            .allowed(
                &admin,
                "users.read",
                client_person.clone(),
                linked.written_at
            )
            .await,
        "the master administrator reaches the client's people"
    );
    let clients = platform
        .tenants(&admin)
        .list_client_tenants(ListClientTenantsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .tenants;
    assert_eq!(clients.len(), 1);
    platform
        .tenants(&admin)
        .get_tenant(GetTenantRequest {
            tenant_id: client.clone(),
        })
        .await
        .expect("a master reads its client");

    // The client may leave by itself.
    let unlinked = platform
        .tenants(&client_admin)
        .unlink_client_tenant(UnlinkClientTenantRequest {
            client_tenant_id: client,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        !platform
            .allowed(&admin, "users.read", client_person, unlinked.written_at)
            .await
    );
}

#[tokio::test]
async fn requiring_mfa_takes_risky_rights_from_password_only_sessions_at_once() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let tenant = object(ObjectType::Tenant, &platform.tenant.to_string());
    assert!(
        platform
            .allowed(&admin, "security_settings.update", tenant.clone(), None)
            .await
    );
    let changed = platform
        .tenants(&admin)
        .update_tenant_settings(UpdateTenantSettingsRequest {
            settings: Some(TenantSettings {
                mfa_required_for_admins: true,
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["mfa_required_for_admins".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        changed
            .tenant
            .unwrap()
            .settings
            .unwrap()
            .mfa_required_for_admins
    );
    assert!(
        !platform
            .allowed(
                &admin,
                "security_settings.update",
                tenant,
                changed.written_at
            )
            .await
    );
    let unknown = platform
        .tenants(&admin)
        .update_tenant_settings(UpdateTenantSettingsRequest {
            settings: None,
            update_mask: Some(FieldMask {
                paths: vec!["colour".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&unknown), ["update_mask"]);
}

#[tokio::test]
async fn a_named_manager_is_named_over_a_user_or_an_account() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let boss = platform.create_user(&admin, "boss@example.org", "").await;
    let worker = platform.create_user(&admin, "worker@example.org", "").await;
    let named = platform
        .users(&admin)
        .add_named_manager(AddNamedManagerRequest {
            user_id: boss.clone(),
            target: Some(object(ObjectType::User, &worker)),
            purpose: NamedManagerPurpose::Manages as i32,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(named.written_at.is_some());
    let refused = platform
        .users(&admin)
        .add_named_manager(AddNamedManagerRequest {
            user_id: boss,
            target: Some(object(ObjectType::Course, &worker)),
            purpose: NamedManagerPurpose::ReceivesUpdates as i32,
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&refused), ["target.type"]);
}

#[tokio::test]
async fn a_password_only_admin_is_told_a_second_factor_is_required() {
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let require_mfa = |on: bool| UpdateTenantSettingsRequest {
        settings: Some(TenantSettings {
            mfa_required_for_admins: on,
            ..Default::default()
        }),
        update_mask: Some(FieldMask {
            paths: vec!["mfa_required_for_admins".into()],
        }),
    };
    platform
        .tenants(&admin)
        .update_tenant_settings(require_mfa(true))
        .await
        .unwrap();
    let refused = platform
        .tenants(&admin)
        .update_tenant_settings(require_mfa(false))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    assert_eq!(reason(&refused), "MFA_REQUIRED");
}

#[tokio::test]
async fn an_operator_appoints_the_first_master_administrator_of_a_master_tenant() {
    use lms_api::identity::v1::AppointMasterAdministratorRequest;
    let platform = Platform::start().await;
    let admin = platform.admin_token().await;
    let operator = platform.operator_token();
    let appoint = |token: &str, user: String| {
        let mut tenants = platform.tenants(token);
        let tenant_id = platform.tenant.to_string();
        async move {
            tenants
                .appoint_master_administrator(AppointMasterAdministratorRequest {
                    tenant_id,
                    user_id: user,
                })
                .await
        }
    };
    let me = platform.admin.to_string();
    // Nobody in the tenant may: the LMS Administrator holds no client reach.
    let denied = appoint(&admin, me.clone()).await.unwrap_err();
    assert_eq!(
        (denied.code(), reason(&denied).as_str()),
        (Code::PermissionDenied, "PLATFORM_OPERATOR_REQUIRED")
    );
    // A tenant that takes no clients has nothing for the role to reach.
    let disabled = appoint(&operator, me.clone()).await.unwrap_err();
    assert_eq!(reason(&disabled), "CLIENTS_DISABLED");
    platform.enable_clients(&admin).await;
    let stranger = appoint(&operator, lms_kernel::UserId::generate().to_string())
        .await
        .unwrap_err();
    assert_eq!(stranger.code(), Code::NotFound);
    let bad = appoint(&operator, "not-a-user".into()).await.unwrap_err();
    assert_eq!(fields(&bad), ["user_id"]);

    let (client, client_coordinator) = platform
        .another_tenant("Client Co", "cc@client.example")
        .await;
    let client_person = ObjectReference {
        r#type: ObjectType::User as i32,
        id: client_coordinator,
        tenant_id: client.clone(),
    };
    let appointed = appoint(&operator, me.clone()).await.unwrap().into_inner();
    assert!(
        platform
            .roles_of(&admin, &me)
            .await
            .contains(&"builtin:master_administrator".to_owned())
    );
    // The new Master Administrator invites; once the client accepts, they reach its people.
    platform
        .tenants(&admin)
        .link_client_tenant(LinkClientTenantRequest {
            client_tenant_id: client.clone(),
        })
        .await
        .unwrap();
    let client_admin = client_coordinator_token(&platform, &client).await;
    let accepted = platform
        .tenants(&client_admin)
        .accept_client_link(AcceptClientLinkRequest {
            master_tenant_id: platform.tenant.to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(appointed.written_at.is_some());
    assert!(
        platform
            .allowed(&admin, "users.read", client_person, accepted.written_at)
            .await,
        "the appointed Master Administrator reaches the client's people"
    );
}
