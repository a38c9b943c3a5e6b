-- The role the people-data feed last gave a user (student or manager), so a re-run assigns or
-- takes back only what changed.
ALTER TABLE users ADD COLUMN feed_role TEXT;
