-- Shop orders with their invitations waiting and taken; see the PostgreSQL migration.
CREATE TABLE projected_orders (
    tenant_id     TEXT    NOT NULL,
    order_id      TEXT    NOT NULL,
    shop_order_id TEXT    NOT NULL,
    course_id     TEXT    NOT NULL,
    buyer_id      TEXT    NOT NULL,
    seats         INTEGER NOT NULL,
    buyer_role    INTEGER NOT NULL,
    waiting       INTEGER NOT NULL,
    taken         INTEGER NOT NULL,
    placed_at     INTEGER NOT NULL,
    sequence      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);

CREATE INDEX projected_orders_by_buyer ON projected_orders (tenant_id, buyer_id);
