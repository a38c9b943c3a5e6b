//! Every documented role behaviour, named after the rule it checks.

mod behaviours;
mod escalation;
mod properties;
mod world;
