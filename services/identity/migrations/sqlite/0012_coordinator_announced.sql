-- Tenants whose Access Coordinator authorization has been told about as a fact
-- (RELATION_ACCESS_COORDINATOR). The duty used to be a role; identity announces every tenant's
-- coordinator once at start (and takes the old role back), then marks it here.
ALTER TABLE tenants ADD COLUMN coordinator_announced BOOLEAN NOT NULL DEFAULT FALSE;
