//! `ContentGrantService`: a master tenant's courses granted to its client tenants. Granting
//! needs `content_grants.create` on the client tenant: authorization allows it only to a
//! Master Administrator whose tenant has `clients_enabled` and the client among its clients,
//! so a grant to any other tenant is refused there. Editing and revoking are decided on the
//! master's own tenant (`content_grants.create`, `content_grants.revoke`), so a grant is ended
//! after its client left too; while a link is ended, authorization holds its grants out of
//! effect. The facts travel in the client tenant's outbox and each answer
//! carries the client's token, which its people pass: after a revoke, their next decision
//! carrying it no longer reaches the course.

use std::sync::Arc;

use lms_api::common::v1::{ObjectReference, ObjectType};
use lms_api::delegation::v1::content_grant_service_server::{
    ContentGrantService, ContentGrantServiceServer,
};
use lms_api::delegation::v1::{
    GrantCatalogueRequest, GrantCatalogueResponse, GrantContentRequest, GrantContentResponse,
    ListContentGrantsRequest, ListContentGrantsResponse, ListGrantedCoursesRequest,
    ListGrantedCoursesResponse, RevokeContentGrantRequest, RevokeContentGrantResponse,
    UpdateContentGrantRequest, UpdateContentGrantResponse,
};
use lms_kernel::{CatalogueId, ContentGrantId, CourseId, Permission, TenantId, Window};
use lms_runtime::ApiError;
use lms_runtime::auth::{Acting, acting};
use lms_runtime::clock::now;
use lms_runtime::paging::{page, page_size};
use tonic::{Request, Response, Status};

use crate::audit::Actor;
use crate::convert::{
    content_grant, course_of, grant_window, granted_course, optional_id, reference, required_id,
};
use crate::core::Core;
use crate::relationships;
use crate::store::{GrantFilter, GrantRecord, Store};

/// Content grants.
pub struct ContentGrants<S>(pub Arc<Core<S>>);

/// Content the caller's tenant grants to a client, decided: what each course's grant shares.
struct Granting {
    master: TenantId,
    client: TenantId,
    window: Window,
    at: i64,
}

impl Granting {
    /// The grant of `course`, made by `actor`.
    fn of(&self, course: CourseId, actor: &Actor) -> GrantRecord {
        GrantRecord {
            id: ContentGrantId::generate(),
            master: self.master,
            client: self.client,
            course,
            window: self.window,
            granted_by: actor.label(),
            granted_at: self.at,
            updated_at: self.at,
        }
    }
}

/// A client tenant as authorization names it (a tenant is its own owner).
fn tenant_ref(tenant: TenantId) -> ObjectReference {
    reference(ObjectType::Tenant, tenant)
}

impl<S: Store + Clone> ContentGrants<S> {
    /// The caller's tenant's grant `grant_id`, once they may do `permission` on their own
    /// tenant: decided before the grant is read, and not on its client, so a Master
    /// Administrator still ends a grant to a tenant that is no longer a client (whose grants
    /// are not in effect meanwhile, and would be again on a new link).
    async fn grant_for(
        &self,
        acting: &Acting,
        grant_id: &str,
        permission: Permission,
    ) -> Result<GrantRecord, ApiError> {
        let id = required_id("grant_id", grant_id, ContentGrantId::parse)?;
        self.0
            .authorization
            .require(acting, permission, tenant_ref(acting.tenant))
            .await?;
        self.0
            .store
            .content_grant(acting.tenant, id)
            .await?
            .ok_or_else(|| ApiError::not_found("content grant", id.to_string()))
    }

    async fn grant(
        &self,
        request: Request<GrantContentRequest>,
    ) -> Result<GrantContentResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let course = required_id("course_id", &r.course_id, CourseId::parse)?;
        let to = self
            .granting(&acting, &r.client_tenant_id, &r.valid_from, &r.valid_until)
            .await?;
        // Nobody grants what they may not see themselves.
        self.0
            .authorization
            .require(
                &acting,
                Permission::CoursesRead,
                reference(ObjectType::Course, course),
            )
            .await?;
        let actor = Actor::of(&request)?;
        let record = to.of(course, &actor);
        let audit = actor.did("content_grant.granted", "content_grant", record.id);
        self.0
            .store
            .grant_content(&record, &relationships::grant_given(&record), &audit)
            .await?;
        Ok(GrantContentResponse {
            grant: Some(content_grant(&record)),
            written_at: self.0.deliver(to.client).await,
        })
    }

    async fn grant_catalogue(
        &self,
        request: Request<GrantCatalogueRequest>,
    ) -> Result<GrantCatalogueResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let catalogue = required_id("catalogue_id", &r.catalogue_id, CatalogueId::parse)?;
        let to = self
            .granting(&acting, &r.client_tenant_id, &r.valid_from, &r.valid_until)
            .await?;
        self.0
            .authorization
            .require(
                &acting,
                Permission::CataloguesRead,
                reference(ObjectType::Catalogue, catalogue),
            )
            .await?;
        let held = self
            .0
            .store
            .catalogue(acting.tenant, catalogue)
            .await?
            .ok_or_else(|| ApiError::not_found("catalogue", catalogue.to_string()))?;
        // Nobody grants what they may not see themselves.
        let courses: Vec<_> = held
            .courses
            .iter()
            .map(|course| reference(ObjectType::Course, *course))
            .collect();
        self.0
            .authorization
            .require_each(&acting, Permission::CoursesRead, "catalogue_id", courses)
            .await?;
        let actor = Actor::of(&request)?;
        let records = held
            .courses
            .iter()
            .map(|course| to.of(*course, &actor))
            .collect();
        let audit = actor.did("content_grant.granted", "content_grant", "");
        let made = self
            .0
            .store
            .grant_courses(records, relationships::grants_given, &audit)
            .await?;
        Ok(GrantCatalogueResponse {
            grants: made.iter().map(content_grant).collect(),
            written_at: self.0.deliver(to.client).await,
        })
    }

    /// The client and window a grant request names, once the caller may grant content to
    /// that client (`content_grants.create` on it).
    async fn granting(
        &self,
        acting: &Acting,
        client_tenant_id: &str,
        valid_from: &Option<prost_types::Timestamp>,
        valid_until: &Option<prost_types::Timestamp>,
    ) -> Result<Granting, ApiError> {
        let at = now();
        let client = self.client_of(acting, client_tenant_id)?;
        let window = grant_window(valid_from.as_ref(), valid_until.as_ref(), at)?;
        self.0
            .authorization
            .require(acting, Permission::ContentGrantsCreate, tenant_ref(client))
            .await?;
        Ok(Granting {
            master: acting.tenant,
            client,
            window,
            at,
        })
    }

    /// The client tenant named in `client_tenant_id`: never the caller's own.
    fn client_of(&self, acting: &Acting, client_tenant_id: &str) -> Result<TenantId, ApiError> {
        let client = required_id("client_tenant_id", client_tenant_id, TenantId::parse)?;
        if client == acting.tenant {
            return Err(ApiError::invalid_field(
                "client_tenant_id",
                "names the caller's own tenant: content is granted to a client tenant",
            ));
        }
        Ok(client)
    }

    async fn update(
        &self,
        request: Request<UpdateContentGrantRequest>,
    ) -> Result<UpdateContentGrantResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let at = now();
        let window = grant_window(r.valid_from.as_ref(), r.valid_until.as_ref(), at)?;
        let grant = self
            .grant_for(&acting, &r.grant_id, Permission::ContentGrantsCreate)
            .await?;
        let audit = Actor::of(&request)?.did("content_grant.changed", "content_grant", grant.id);
        let changed = self
            .0
            .store
            .change_grant(
                acting.tenant,
                grant.id,
                window,
                at,
                relationships::grant_given,
                &audit,
            )
            .await?
            .ok_or_else(|| ApiError::not_found("content grant", grant.id.to_string()))?;
        Ok(UpdateContentGrantResponse {
            grant: Some(content_grant(&changed)),
            written_at: self.0.deliver(changed.client).await,
        })
    }

    async fn revoke(
        &self,
        request: Request<RevokeContentGrantRequest>,
    ) -> Result<RevokeContentGrantResponse, ApiError> {
        let acting = acting(&request)?;
        let grant = self
            .grant_for(
                &acting,
                &request.get_ref().grant_id,
                Permission::ContentGrantsRevoke,
            )
            .await?;
        let audit = Actor::of(&request)?.did("content_grant.revoked", "content_grant", grant.id);
        let revoked = self
            .0
            .store
            .revoke_grant(
                acting.tenant,
                grant.id,
                relationships::grant_revoked,
                &audit,
            )
            .await?
            .ok_or_else(|| ApiError::not_found("content grant", grant.id.to_string()))?;
        Ok(RevokeContentGrantResponse {
            grant: Some(content_grant(&GrantRecord {
                window: lms_kernel::Window {
                    until: Some(now()),
                    ..revoked.window
                },
                ..revoked
            })),
            written_at: self.0.deliver(revoked.client).await,
        })
    }

    async fn list(
        &self,
        request: Request<ListContentGrantsRequest>,
    ) -> Result<ListContentGrantsResponse, ApiError> {
        let acting = acting(&request)?;
        let r = request.get_ref();
        let client = optional_id("client_tenant_id", &r.client_tenant_id, TenantId::parse)?;
        // One client's grants, read on it; all of them, read on the master's own tenant (which
        // only those who administer clients may: the same grants reach both).
        let on = tenant_ref(client.unwrap_or(acting.tenant));
        self.0
            .authorization
            .require(&acting, Permission::ClientsRead, on)
            .await?;
        let limit = page_size(r.page_size, 100, 1000);
        let filter = GrantFilter {
            client,
            after: optional_id("page_token", &r.page_token, ContentGrantId::parse)?,
        };
        let found = self
            .0
            .store
            .content_grants(acting.tenant, filter, limit + 1)
            .await?;
        let (found, next_page_token) = page(found, limit, |g| g.id.to_string());
        Ok(ListContentGrantsResponse {
            grants: found.iter().map(content_grant).collect(),
            next_page_token,
        })
    }

    async fn granted(
        &self,
        request: Request<ListGrantedCoursesRequest>,
    ) -> Result<ListGrantedCoursesResponse, ApiError> {
        let acting = acting(&request)?;
        let at = now();
        let granted = self.0.store.granted_courses(acting.tenant, at).await?;
        // Each decided as the caller: authorization's facts, not ours, say what they see now.
        let asked: Vec<_> = granted
            .iter()
            .map(|(grant, course)| course_of(Some(grant.master), course.id))
            .collect();
        let denied = self
            .0
            .authorization
            .denied_among(&acting, Permission::CoursesRead, &asked)
            .await?;
        Ok(ListGrantedCoursesResponse {
            courses: granted
                .iter()
                .filter(|(_, course)| !denied.contains(&course.id.to_string()))
                .map(|(grant, course)| granted_course(grant, course, at))
                .collect(),
        })
    }
}

#[tonic::async_trait]
impl<S: Store + Clone> ContentGrantService for ContentGrants<S> {
    async fn grant_content(
        &self,
        request: Request<GrantContentRequest>,
    ) -> Result<Response<GrantContentResponse>, Status> {
        Ok(Response::new(self.grant(request).await?))
    }

    async fn grant_catalogue(
        &self,
        request: Request<GrantCatalogueRequest>,
    ) -> Result<Response<GrantCatalogueResponse>, Status> {
        Ok(Response::new(
            ContentGrants::grant_catalogue(self, request).await?,
        ))
    }

    async fn update_content_grant(
        &self,
        request: Request<UpdateContentGrantRequest>,
    ) -> Result<Response<UpdateContentGrantResponse>, Status> {
        Ok(Response::new(self.update(request).await?))
    }

    async fn revoke_content_grant(
        &self,
        request: Request<RevokeContentGrantRequest>,
    ) -> Result<Response<RevokeContentGrantResponse>, Status> {
        Ok(Response::new(self.revoke(request).await?))
    }

    async fn list_content_grants(
        &self,
        request: Request<ListContentGrantsRequest>,
    ) -> Result<Response<ListContentGrantsResponse>, Status> {
        Ok(Response::new(self.list(request).await?))
    }

    async fn list_granted_courses(
        &self,
        request: Request<ListGrantedCoursesRequest>,
    ) -> Result<Response<ListGrantedCoursesResponse>, Status> {
        Ok(Response::new(self.granted(request).await?))
    }
}

/// The gRPC service.
pub fn service<S: Store + Clone>(
    core: Arc<Core<S>>,
) -> ContentGrantServiceServer<ContentGrants<S>> {
    ContentGrantServiceServer::new(ContentGrants(core))
}
