-- The content grants among a client tenant's facts (relation 21 = RELATION_GRANTED_BY), read
-- with every subject of the tenant: found by this index alone, never by walking the tenant's
-- other rows whose subject is a tenant (one per unit). It leads with every column the read
-- fixes, so that SQLite, which keeps no statistics, prefers it to relationships_by_subject.
CREATE INDEX relationships_granted
    ON relationships (tenant_id, subject_type, resource_type, subject_id, resource_id)
    WHERE relation = 21;
