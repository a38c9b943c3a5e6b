//! Every documented role behaviour, named after the rule it checks.

mod behaviours;
mod coverage;
mod escalation;
mod properties;
mod world;
