//! An item's size as DynamoDB counts it for write units: each attribute's
//! name plus its value (strings and binary by their bytes, numbers about one
//! byte per two significant digits plus one, 1 byte for a boolean or null,
//! 3 bytes plus one per element and the elements for a list or map). A
//! write takes one unit per KB of the item, rounded up.

use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// What one write unit writes.
pub const WRITE_UNIT_BYTES: usize = 1024;

pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Write units to put `item` (at least one).
pub fn write_units(item: &HashMap<String, AttributeValue>) -> usize {
    item_size(item).div_ceil(WRITE_UNIT_BYTES).max(1)
}

fn value_size(v: &AttributeValue) -> usize {
    let number = |n: &str| {
        let digits = n.trim_start_matches('-').replace('.', "");
        digits.trim_start_matches('0').len().max(1).div_ceil(2) + 1
    };
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(ss) => ss.iter().map(String::len).sum(),
        AttributeValue::Ns(ns) => ns.iter().map(|n| number(n)).sum(),
        AttributeValue::Bs(bs) => bs.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(l) => 3 + l.iter().map(|e| 1 + value_size(e)).sum::<usize>(),
        AttributeValue::M(m) => {
            3 + m
                .iter()
                .map(|(k, e)| 1 + k.len() + value_size(e))
                .sum::<usize>()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_dynamodbs_rules() {
        let s = |v: &str| AttributeValue::S(v.into());
        let item = HashMap::from([
            ("pk".to_owned(), s("abc")),                         // 2 + 3
            ("n".to_owned(), AttributeValue::N("12345".into())), // 1 + 3 + 1
            (
                "m".to_owned(),
                AttributeValue::M(HashMap::from([("k".to_owned(), s("vv"))])), // 1 + 3 + (1 + 1 + 2)
            ),
            (
                "l".to_owned(),
                AttributeValue::L(vec![AttributeValue::Bool(true)]), // 1 + 3 + (1 + 1)
            ),
        ]);
        assert_eq!(item_size(&item), 5 + 5 + 8 + 6);
        assert_eq!(write_units(&item), 1);
        let big = HashMap::from([("b".to_owned(), s(&"x".repeat(1024)))]);
        assert_eq!(write_units(&big), 2);
    }
}
