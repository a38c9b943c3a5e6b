//! Walking a [`Path`] over stored facts, one hop at a time.
//!
//! The kernel does no I/O, so the walk does not read facts itself: it asks for one hop at a
//! time ([`Walk::request`]: a relation, a direction and every object reached so far) and takes
//! the facts found ([`Walk::answer`]). A service answers each request with one store query for
//! the whole object set (or with facts it holds already) and may await in between; tests
//! answer from generated facts through [`walk`]. `Subtree` is asked as PARENT_UNIT read
//! backwards, level by level, until no new unit turns up.
//!
//! Each object reached keeps its trail (the hops that led to it), because the trail is what
//! the walk proved about it: a user reached through a group's PRIMARY_MEMBER facts has that
//! group as primary group, a course reached through a unit's OWNING_UNIT facts sits in that
//! unit, below the place the walk started at.

use std::collections::HashMap;
use std::hash::Hash;

use super::{Kind, Path, Relation, Step};

/// One hop taken: the fact read, from the object before to the object after.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Hop<N> {
    /// `Subjects(r)` or `Resources(r)`; a `Subtree` hop is `Resources(ParentUnit)`.
    pub step: Step,
    /// The object the hop started from.
    pub from: N,
    /// The object it reached.
    pub to: N,
}

/// An object at the end of a path, with the hops that led to it from the origin.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Reached<N> {
    /// The object.
    pub node: N,
    /// The hops from the origin, in order (empty for the origin itself).
    pub trail: Vec<Hop<N>>,
}

impl<N: Copy> Reached<N> {
    /// The last hop, if the object is not the origin.
    pub fn last(&self) -> Option<&Hop<N>> {
        self.trail.last()
    }
}

/// One hop to answer: the facts of `relation` at every object of `from`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Request<'a, N> {
    /// `Subjects(r)`: facts whose resource is in `from`, answering their subjects.
    /// `Resources(r)`: facts whose subject is in `from`, answering their resources.
    pub step: Step,
    /// The relation read.
    pub relation: Relation,
    /// The kind of the objects in `from`.
    pub from_kind: Kind,
    /// The only kind to answer: other objects at the far end of the relation are left out
    /// (PARENT_COURSE leads to lessons and to events alike).
    pub to_kind: Kind,
    /// The objects to read from, without duplicates.
    pub from: &'a [N],
}

/// A path being walked from one origin.
#[derive(Debug)]
pub struct Walk<N> {
    path: Path,
    kind: Kind,
    /// The step being answered.
    next: usize,
    /// What the walk reached before the current step, by object.
    reached: Vec<Reached<N>>,
    index: HashMap<N, usize>,
    /// The objects the pending request reads from.
    asking: Vec<N>,
    /// During `Subtree`: the units found at the last level, still to descend from.
    level: Vec<N>,
}

impl<N: Copy + Eq + Hash> Walk<N> {
    /// A walk of `path` from `origin`, ending at objects of `kind`.
    pub fn new(path: Path, origin: N, kind: Kind) -> Walk<N> {
        let mut walk = Walk {
            path,
            kind,
            next: 0,
            reached: Vec::new(),
            index: HashMap::new(),
            asking: Vec::new(),
            level: Vec::new(),
        };
        walk.push(Reached {
            node: origin,
            trail: Vec::new(),
        });
        walk.prepare();
        walk
    }

    fn push(&mut self, reached: Reached<N>) -> bool {
        if self.index.contains_key(&reached.node) {
            return false;
        }
        self.index.insert(reached.node, self.reached.len());
        self.reached.push(reached);
        true
    }

    /// Sets up the request of the current step.
    fn prepare(&mut self) {
        self.asking = match self.path.steps.get(self.next) {
            None => Vec::new(),
            Some(Step::Subtree) if !self.level.is_empty() => std::mem::take(&mut self.level),
            Some(_) => self.reached.iter().map(|r| r.node).collect(),
        };
    }

    /// The kind of the objects reached after step `at`.
    fn kind_after(&self, at: usize) -> Kind {
        if at + 1 == self.path.steps.len() {
            return self.kind;
        }
        match self.path.steps[at] {
            Step::Subtree => Kind::Unit,
            Step::Subjects(relation) => relation.subject_kind().unwrap_or(self.kind),
            Step::Resources(relation) => relation
                .resource_kinds()
                .first()
                .copied()
                .unwrap_or(self.kind),
        }
    }

    /// The hop to answer next, or `None` when the walk is over.
    pub fn request(&self) -> Option<Request<'_, N>> {
        let step = *self.path.steps.get(self.next)?;
        if self.asking.is_empty() {
            return None;
        }
        let from_kind = match self.next {
            0 => self.path.anchor.kind(),
            at => self.kind_after(at - 1),
        };
        let (step, relation) = match step {
            Step::Subtree => (Step::Resources(Relation::ParentUnit), Relation::ParentUnit),
            Step::Subjects(relation) | Step::Resources(relation) => (step, relation),
        };
        Some(Request {
            step,
            relation,
            from_kind,
            to_kind: self.kind_after(self.next),
            from: &self.asking,
        })
    }

    /// Takes the facts that answer the last request, as `(from, to)` pairs. Pairs whose `from`
    /// was not asked about are ignored.
    pub fn answer(&mut self, found: impl IntoIterator<Item = (N, N)>) {
        let Some(step) = self.path.steps.get(self.next).copied() else {
            return;
        };
        let hop_step = match step {
            Step::Subtree => Step::Resources(Relation::ParentUnit),
            other => other,
        };
        let extend = |reached: &[Reached<N>], index: &HashMap<N, usize>, from: N, to: N| {
            let before = &reached[*index.get(&from)?];
            let mut trail = before.trail.clone();
            trail.push(Hop {
                step: hop_step,
                from,
                to,
            });
            Some(Reached { node: to, trail })
        };
        let asked: std::collections::HashSet<N> = self.asking.iter().copied().collect();
        let found = found.into_iter().filter(|(from, _)| asked.contains(from));
        if step == Step::Subtree {
            // The subtree keeps every unit reached so far (the place included) and descends
            // from the new ones; a unit seen before (a cycle) is not descended from again.
            let mut level = Vec::new();
            for (from, to) in found {
                if let Some(next) = extend(&self.reached, &self.index, from, to)
                    && self.push(next)
                {
                    level.push(to);
                }
            }
            self.level = level;
            if self.level.is_empty() {
                self.next += 1;
            }
        } else {
            let last = self.next + 1 == self.path.steps.len();
            let mut reached = Vec::new();
            let mut index = HashMap::new();
            for (from, to) in found {
                let Some(next) = extend(&self.reached, &self.index, from, to) else {
                    continue;
                };
                // At the end every way in counts (two groups prove more than one); on the way
                // one trail per object is enough to walk on.
                if last || !index.contains_key(&to) {
                    index.entry(to).or_insert(reached.len());
                    reached.push(next);
                }
            }
            self.reached = reached;
            self.index = index;
            self.next += 1;
        }
        self.prepare();
    }

    /// What the walk reached: every object at the end of the path with a trail that led there
    /// (an object reached several ways at the last hop appears once per way). Empty while
    /// requests are pending.
    pub fn reached(self) -> Vec<Reached<N>> {
        if self.next < self.path.steps.len() {
            return Vec::new();
        }
        self.reached
    }
}

/// Walks `path` from `origin` to objects of `kind`, answering each hop with `hop`.
pub fn walk<N, E>(
    path: Path,
    origin: N,
    kind: Kind,
    mut hop: impl FnMut(Request<'_, N>) -> Result<Vec<(N, N)>, E>,
) -> Result<Vec<Reached<N>>, E>
where
    N: Copy + Eq + Hash,
{
    let mut walk = Walk::new(path, origin, kind);
    while let Some(request) = walk.request() {
        let found = hop(request)?;
        walk.answer(found);
    }
    Ok(walk.reached())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scope::{Anchor, Relation as R};

    /// `resource RELATION subject` facts over small numbers.
    const FACTS: &[(u8, R, u8)] = &[
        (2, R::ParentUnit, 1),
        (3, R::ParentUnit, 2),
        // A cycle back to the top: walked once, never again.
        (1, R::ParentUnit, 3),
        (2, R::Employee, 20),
        (3, R::Employee, 30),
        (9, R::Employee, 90),
    ];

    fn answer(request: Request<'_, u8>) -> Result<Vec<(u8, u8)>, ()> {
        Ok(FACTS
            .iter()
            .filter(|(_, relation, _)| *relation == request.relation)
            .filter_map(|(resource, _, subject)| match request.step {
                Step::Subjects(_) => request
                    .from
                    .contains(resource)
                    .then_some((*resource, *subject)),
                _ => request
                    .from
                    .contains(subject)
                    .then_some((*subject, *resource)),
            })
            .collect())
    }

    #[test]
    fn a_subtree_walk_descends_level_by_level_and_keeps_each_trail() {
        let path = Path {
            anchor: Anchor::Place,
            steps: &[Step::Subtree, Step::Subjects(R::Employee)],
        };
        let mut requests = Vec::new();
        let reached = walk(path, 1, Kind::User, |request| {
            requests.push((request.step, request.from.to_vec(), request.to_kind));
            answer(request)
        })
        .unwrap();
        let down = Step::Resources(R::ParentUnit);
        assert_eq!(
            requests,
            [
                (down, vec![1], Kind::Unit),
                (down, vec![2], Kind::Unit),
                (down, vec![3], Kind::Unit),
                (Step::Subjects(R::Employee), vec![1, 2, 3], Kind::User),
            ]
        );
        let trails: Vec<(u8, Vec<u8>)> = reached
            .iter()
            .map(|r| (r.node, r.trail.iter().map(|hop| hop.to).collect()))
            .collect();
        assert_eq!(trails, [(20, vec![2, 20]), (30, vec![2, 3, 30])]);
    }

    #[test]
    fn a_walk_that_finds_nothing_on_the_way_reaches_nothing() {
        let path = Path {
            anchor: Anchor::Subject,
            steps: &[
                Step::Resources(R::Manager),
                Step::Subjects(R::PrimaryMember),
            ],
        };
        let reached = walk(path, 7, Kind::User, answer).unwrap();
        assert!(reached.is_empty());
        let myself = Path {
            anchor: Anchor::Subject,
            steps: &[],
        };
        let reached = walk(myself, 7, Kind::User, answer).unwrap();
        assert_eq!(reached.iter().map(|r| r.node).collect::<Vec<_>>(), [7]);
    }
}
