-- Shop orders as delegation last published them (`reporting.order`), with how many of their
-- seats are offered (invitations waiting) and taken (the buyer's invitees): what the purchases
-- report lists. Times are seconds since the epoch. A row changes only for an event at least as
-- new (delegation's outbox sequence).
CREATE TABLE projected_orders (
    tenant_id     UUID    NOT NULL,
    order_id      TEXT    NOT NULL,
    shop_order_id TEXT    NOT NULL,
    course_id     TEXT    NOT NULL,
    buyer_id      TEXT    NOT NULL,
    seats         INTEGER NOT NULL,
    invited       INTEGER NOT NULL,
    taken         INTEGER NOT NULL,
    placed_at     BIGINT  NOT NULL,
    sequence      BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, order_id)
);

CREATE INDEX projected_orders_by_course ON projected_orders (tenant_id, course_id);
CREATE INDEX projected_orders_by_buyer ON projected_orders (tenant_id, buyer_id);
