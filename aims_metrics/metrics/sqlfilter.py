"""Free-form `{sql: ...}` filters: parsed with sqlglot, checked against an allow-list of expression
nodes and the source's declared columns, and re-emitted from the parse tree with every literal
turned into a bound parameter. Nothing the analyst typed is pasted into a query."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import TokenType

from aims_metrics.metrics.models import PERIOD_VARIABLES, Source

ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Neg,
    exp.Coalesce,
    exp.Abs,
    exp.Lower,
    exp.Upper,
    exp.Length,
    exp.Placeholder,
    exp.Cast,
    exp.DataType,
)
ALLOWED_CASTS = frozenset(
    {
        exp.DataType.Type.DATE,
        exp.DataType.Type.DOUBLE,
        exp.DataType.Type.VARCHAR,
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.BOOLEAN,
    }
)
CONDITION_NODES: tuple[type[exp.Expression], ...] = (
    exp.And,
    exp.Or,
    exp.Not,
    exp.Paren,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Boolean,
    exp.Column,
)
MAX_SQL_FILTER_LENGTH = 1000
MAX_SQL_FILTER_NESTING = 20  # brackets deep; the parser recurses per level and must not overflow
MAX_SQL_FILTER_DEPTH = 60  # expression tree levels (e.g. a chain of 60 ORs), for the same reason


@dataclass(frozen=True)
class CheckedSql:
    """A condition that passed the allow-list, ready to be re-emitted."""

    tree: exp.Expression


def _describe_node(node: exp.Expression) -> str:
    if isinstance(node, exp.Func):
        return f"function {node.sql_name().lower() if hasattr(node, 'sql_name') else node.key}"
    return node.key.replace("_", " ")


def check_sql_filter(sql: str, source: Source) -> tuple[CheckedSql | None, list[str]]:
    """Parse and check a free-form condition over `source`; (checked, []) or (None, problems)."""
    if len(sql) > MAX_SQL_FILTER_LENGTH:
        return None, [f"the condition is longer than {MAX_SQL_FILTER_LENGTH} characters"]
    try:
        tokens = sqlglot.tokenize(sql, read="duckdb")
    except (TokenError, ParseError) as error:
        return None, [f"cannot read the condition: {error}"]
    if any(token.comments for token in tokens):
        return None, ["comments are not allowed in a condition"]
    depth = deepest = 0
    for token in tokens:
        if token.token_type in (TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE):
            depth += 1
            deepest = max(deepest, depth)
        elif token.token_type in (TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE):
            depth -= 1
    if deepest > MAX_SQL_FILTER_NESTING:
        return None, [f"the condition nests brackets more than {MAX_SQL_FILTER_NESTING} deep"]
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except RecursionError:
        return None, ["the condition nests too deeply: simplify it"]
    except (ParseError, TokenError) as error:
        message = str(error).splitlines()[0]
        return None, [f"cannot parse the condition: {message}"]
    if len(statements) != 1:
        return None, [f"a condition is a single expression, not {len(statements)} statements"]
    tree = statements[0]
    if max(node.depth for node in tree.walk()) > MAX_SQL_FILTER_DEPTH:
        return None, ["the condition nests too deeply: simplify it"]
    problems: list[str] = []
    if not isinstance(tree, CONDITION_NODES) or (
        isinstance(tree, exp.Column)
        and (column := source.column(tree.name)) is not None
        and column.type != "bool"
    ):
        problems.append(f"{_describe_node(tree)} is not a condition (write e.g. severity = 'high')")
    declared = set(source.column_names)
    for node in tree.walk():
        if node.comments:
            problems.append("comments are not allowed in a condition")
        if isinstance(node, exp.Anonymous):
            problems.append(f"function {node.name}() is not allowed in a condition")
            continue
        if not isinstance(node, ALLOWED_NODES):
            problems.append(f"{_describe_node(node)} is not allowed in a condition")
            continue
        if isinstance(node, exp.Column):
            if node.table or node.args.get("db") or node.args.get("catalog"):
                problems.append(f"write columns without a table name: {node.sql()}")
            elif node.name not in declared:
                problems.append(f"unknown column {node.name!r} in source {source.name!r}")
        elif isinstance(node, exp.Placeholder):
            if f"${node.name}" not in PERIOD_VARIABLES:
                problems.append(f"unknown variable ${node.name}: use $period_start or $period_end")
        elif isinstance(node, exp.DataType) and node.this not in ALLOWED_CASTS:
            problems.append(f"cast to {node.sql(dialect='duckdb')} is not allowed")
        elif isinstance(node, exp.In) and node.args.get("query") is not None:
            problems.append("subqueries are not allowed in a condition")
    if problems:
        return None, list(dict.fromkeys(problems))
    return CheckedSql(tree), []


def emit_sql_filter(
    checked: CheckedSql,
    column: Callable[[str], str],
    bind: Callable[[object], str],
    period: Callable[[str], str],
) -> str:
    """Re-emit a checked condition: columns through `column`, literals through `bind`
    (as bound parameters), `$period_*` through `period`."""

    def rewrite(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column):
            return sqlglot.parse_one(column(node.name), read="duckdb")
        if isinstance(node, exp.Literal):
            value: object = node.this if node.is_string else _number(node.this)
            return sqlglot.parse_one(bind(value), read="duckdb")
        if isinstance(node, exp.Placeholder):
            return sqlglot.parse_one(period(f"${node.name}"), read="duckdb")
        return node

    tree = checked.tree.copy().transform(rewrite)
    return f"({tree.sql(dialect='duckdb')})"


def _number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        return float(text)
