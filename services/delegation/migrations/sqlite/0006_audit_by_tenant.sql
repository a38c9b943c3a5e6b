-- The trail is read newest first across a whole tenant (DelegationAuditService), which the
-- object index cannot answer without reading every record of the tenant.
CREATE INDEX audit_records_by_tenant ON audit_records (tenant_id, sequence);
