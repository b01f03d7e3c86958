//! Loading, checking and merging vocabularies; the built-in one.

use super::*;

#[test]
fn the_builtin_vocabulary_loads_and_is_large_enough() {
    let v = Vocabulary::load("builtin:skincare", Path::new(".")).unwrap();
    assert!(v.topics.len() >= 150, "{} topics", v.topics.len());
    for kind in [
        TopicKind::Ingredient,
        TopicKind::Procedure,
        TopicKind::Concern,
        TopicKind::Trend,
    ] {
        assert!(v.topics.iter().any(|t| t.kind == kind), "{kind:?}");
    }
    assert!(v.get("retinol").is_some() && v.get("exosomes").is_some());
}

#[test]
fn the_builtin_vocabulary_is_a_tree_of_broader_concepts() {
    let v = Vocabulary::load("builtin:skincare", Path::new(".")).unwrap();
    let parent = |id: &str| v.get(id).and_then(|t| t.parent.clone());
    for child in ["exosome-therapy", "exosome-facial", "plant-exosomes"] {
        assert_eq!(parent(child).as_deref(), Some("exosomes"), "{child}");
    }
    for child in ["retinol", "retinaldehyde", "tretinoin"] {
        assert_eq!(parent(child).as_deref(), Some("retinoids"), "{child}");
    }
    assert!(v.is_top_level("exosomes") && !v.is_top_level("retinol"));
    let with_parent = v.topics.iter().filter(|t| t.parent.is_some()).count();
    assert!(
        with_parent >= 40,
        "only {with_parent} concepts have a parent"
    );
    assert_eq!(
        v.ancestors("retinol")
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        ["retinoids"]
    );
}

#[test]
fn problems_name_the_line() {
    let text = "[[topic]]\nid = \"a\"\nlabel = \"A\"\nkind = \"ingredient\"\naliases = [\"x\"]\n\n[[topic]]\nid = \"b\"\nlabel = \" \"\nkind = \"potion\"\naliases = [\"X\"]\n";
    let e = Vocabulary::parse(text, "v.toml")
        .unwrap_err()
        .problems
        .join("\n");
    assert!(e.contains("v.toml:9: topic 'b' has an empty label"), "{e}");
    assert!(e.contains("v.toml:10: topic 'b' has kind 'potion'"), "{e}");
    assert!(
        e.contains("v.toml:11: alias 'x' of 'b' is already an alias of 'a' (line 5)"),
        "{e}"
    );
    let e = Vocabulary::parse(
        "[[topic]]\nid = \"a\"\nlabel = \"A\"\nkind = \"trend\"\nsynonyms = []\n",
        "v.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("v.toml:5") && e.contains("synonyms"), "{e}");
}

fn topic(id: &str, parent: Option<&str>, alias: &str) -> String {
    let parent = parent.map_or(String::new(), |p| format!("parent = \"{p}\"\n"));
    format!(
        "[[topic]]\nid = \"{id}\"\nlabel = \"{id}\"\nkind = \"ingredient\"\n{parent}aliases = [\"{alias}\"]\n\n"
    )
}

#[test]
fn unknown_parents_and_cycles_name_the_file_line_and_concept() {
    let text = [
        topic("a", Some("c"), "aa"),
        topic("b", Some("a"), "bb"),
        topic("c", Some("b"), "cc"),
        topic("d", Some("nowhere"), "dd"),
        topic("e", Some("e"), "ee"),
        topic("f", Some("a"), "ff"),
    ]
    .concat();
    let e = Vocabulary::parse(&text, "v.toml")
        .unwrap_err()
        .problems
        .join("\n");
    assert!(
        e.contains("v.toml:5: topic 'a' is its own ancestor through its parents: a -> c -> b -> a"),
        "{e}"
    );
    assert_eq!(e.matches("own ancestor").count(), 1, "one cycle, once: {e}");
    assert!(
        e.contains("v.toml:26: topic 'd' names parent 'nowhere', which is not in the vocabulary"),
        "{e}"
    );
    assert!(
        e.contains("v.toml:33: topic 'e' names itself as its parent"),
        "{e}"
    );
    assert!(!e.contains("'f'"), "f is under a cycle, not in one: {e}");
}

#[test]
fn a_local_file_adds_and_replaces_concepts_and_may_not_claim_an_alias() {
    let base = [
        topic("exosomes", None, "exosome"),
        topic("retinol", None, "retinol"),
    ]
    .concat();
    let local = [
        topic("sea-fennel", Some("exosomes"), "sea fennel"),
        topic("retinol", None, "retinol"),
    ]
    .concat()
    .replace("label = \"retinol\"", "label = \"Retinol (vitamin A)\"");
    let v = Vocabulary::parse_merged(&base, "base.toml", Some((&local, "local.toml"))).unwrap();
    assert_eq!(v.topics.len(), 3);
    assert_eq!(v.get("retinol").unwrap().label, "Retinol (vitamin A)");
    assert_eq!(v.ancestors("sea-fennel")[0].id, "exosomes");

    let clash = topic("exo-2", None, "Exosome");
    let e = Vocabulary::parse_merged(&base, "base.toml", Some((&clash, "local.toml")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("local.toml:5: alias 'exosome' of 'exo-2' is already an alias of 'exosomes' (base.toml:5)"),
        "{e}"
    );
    let orphan = topic("x", Some("missing"), "xx");
    let e = Vocabulary::parse_merged(&base, "base.toml", Some((&orphan, "local.toml")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("local.toml:5: topic 'x' names parent 'missing'"),
        "{e}"
    );
}

#[test]
fn topics_add_writes_a_table_that_reads_back() {
    let t = Topic {
        id: "sea-fennel".into(),
        label: "Sea \"fennel\"".into(),
        kind: TopicKind::Ingredient,
        parent: Some("botanicals".into()),
        aliases: vec!["sea fennel".into()],
        case_sensitive: vec![],
        exclude: vec![],
    };
    let base = topic("botanicals", None, "botanical");
    let v = Vocabulary::parse_merged(&base, "b", Some((&topic_toml(&t), "l"))).unwrap();
    assert_eq!(v.get("sea-fennel"), Some(&t));
}
