//! Paging of list calls (`page_size` / `page_token`, DESIGN.md §4).

/// Page sizes: `requested` when positive, else `default`, never above `max`.
pub fn page_size(requested: i32, default: i64, max: i64) -> i64 {
    if requested > 0 {
        i64::from(requested).min(max)
    } else {
        default
    }
}

/// One page of `items` read with `limit + 1` (the extra one says a next page exists): the
/// first `limit` items and the token of the next page, the last shown item's `token`; empty
/// on the last page.
pub fn page<T>(mut items: Vec<T>, limit: i64, token: impl Fn(&T) -> String) -> (Vec<T>, String) {
    let limit = usize::try_from(limit).unwrap_or(0);
    if items.len() <= limit {
        return (items, String::new());
    }
    items.truncate(limit);
    let next = items.last().map(token).unwrap_or_default();
    (items, next)
}

#[cfg(test)]
mod tests {
    use super::{page, page_size};

    #[test]
    fn a_page_names_the_next_only_when_one_exists() {
        assert_eq!(
            page(vec![1, 2, 3], 2, |n| n.to_string()),
            (vec![1, 2], "2".into())
        );
        assert_eq!(
            page(vec![1, 2], 2, |n| n.to_string()),
            (vec![1, 2], String::new())
        );
        assert_eq!(
            page(Vec::<i32>::new(), 2, |n| n.to_string()),
            (vec![], String::new())
        );
    }

    #[test]
    fn zero_takes_the_default_and_large_requests_are_capped() {
        assert_eq!(page_size(0, 100, 1000), 100);
        assert_eq!(page_size(-3, 100, 1000), 100);
        assert_eq!(page_size(7, 100, 1000), 7);
        assert_eq!(page_size(5000, 100, 1000), 1000);
    }
}
