//! Paging of list calls (`page_size` / `page_token`, DESIGN.md §4).

/// Page sizes: `requested` when positive, else `default`, never above `max`.
pub fn page_size(requested: i32, default: i64, max: i64) -> i64 {
    if requested > 0 {
        i64::from(requested).min(max)
    } else {
        default
    }
}

#[cfg(test)]
mod tests {
    use super::page_size;

    #[test]
    fn zero_takes_the_default_and_large_requests_are_capped() {
        assert_eq!(page_size(0, 100, 1000), 100);
        assert_eq!(page_size(-3, 100, 1000), 100);
        assert_eq!(page_size(7, 100, 1000), 7);
        assert_eq!(page_size(5000, 100, 1000), 1000);
    }
}
