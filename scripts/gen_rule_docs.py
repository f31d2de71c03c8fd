"""Write docs/rules/*.md from the lint rules (run after changing a rule)."""

from __future__ import annotations

from pathlib import Path

from uvdock.lint.docs import rule_pages

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def main() -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    for stale in DOCS.glob("*.md"):
        stale.unlink()
    for name, content in rule_pages().items():
        (DOCS / name).write_text(content, encoding="utf-8")
    print(f"wrote {len(rule_pages())} pages to {DOCS}")


if __name__ == "__main__":
    main()
