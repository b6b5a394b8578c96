"""The metric SQL, written for DuckDB, rewritten for Spark SQL.

sqlglot transpiles DuckDB to Spark; these named rewrites cover what it leaves wrong (each was
found by running the metric SQL on both engines and comparing, see tests/test_spark_engine.py):

- ``asof_join``: Spark has no ``ASOF JOIN``. ``L ASOF [LEFT] JOIN R ON L.k = R.k AND L.t >= R.t``
  becomes an interval join: each R row carries the time of the next R row of its key (``lead``),
  and L matches the R row whose interval ``[t, next)`` holds ``L.t``. Ties on ``R.t`` match
  their last row in ``lead``'s order, as DuckDB matches one of them; the metric SQL removes such
  ties before it joins.
- ``infinity``: ``'infinity'::TIMESTAMPTZ`` and ``'-infinity'`` do not exist in Spark; they
  become the largest and smallest timestamps Spark holds.
- ``double_literals``: Spark reads ``86400.0`` as a DECIMAL; DuckDB as a DOUBLE. Written as
  ``86400.0D``.
- ``epoch_fractions``: DuckDB's ``epoch(ts)`` keeps fractions of a second; Spark's
  ``unix_timestamp`` drops them. Spark's ``unix_micros(ts) / 1e6`` keeps them.
- ``materialized_cte``: Spark has no ``WITH x AS MATERIALIZED``; the hint is dropped (Spark
  plans the CTE as it likes; the result is the same).
- ``arrays_overlap``: DuckDB's ``list_has_any`` is printed as ``&&``, which Spark does not
  read; Spark spells it ``arrays_overlap``.
- ``regexp_groups``: DuckDB's ``regexp_extract(s, re, ['a', 'b'])`` returns a struct of the
  named groups; Spark extracts one group at a time, so it becomes
  ``named_struct('a', regexp_extract(s, re, 1), 'b', regexp_extract(s, re, 2))``. Both give ''
  for a group that did not match.
- ``iso_week``: Spark 3+ refuses week-based date patterns, so ``strftime(t, '%G-W%V')`` is
  built from ``extract(YEAROFWEEK ...)`` and ``extract(WEEK ...)``, which are ISO 8601's.
- ``arg_min_nulls``: DuckDB's ``arg_min(v, k)`` skips rows whose ``v`` is NULL; Spark's
  ``min_by`` does not. ``min_by(v, k) FILTER (WHERE v IS NOT NULL)`` does what DuckDB does.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

SPARK_MAX_TS = "TIMESTAMP '9999-12-31 23:59:59.999999'"
SPARK_MIN_TS = "TIMESTAMP '0001-01-01 00:00:00'"


def _infinity(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string:
        text = node.this.name.strip().lower()
        if text in ("infinity", "+infinity", "-infinity"):
            return sqlglot.parse_one(SPARK_MIN_TS if text.startswith("-") else SPARK_MAX_TS, read="spark")
    return node


_FLIP = {exp.GTE: exp.LTE, exp.GT: exp.LT, exp.LTE: exp.GTE, exp.LT: exp.GT}


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    return _conjuncts(node.left) + _conjuncts(node.right) if isinstance(node, exp.And) else [node]


def _asof_join(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.Join) or (node.args.get("method") or "").upper() != "ASOF":
        return node
    right = node.this
    alias = right.alias_or_name
    keys, inequality = [], None
    for cond in _conjuncts(node.args["on"]):
        if isinstance(cond, exp.EQ):
            mine = cond.left if cond.left.table == alias else cond.right
            keys.append(mine.copy())
        else:
            if cond.left.table == alias:  # written R.t <= L.t: put L on the left
                cond = _FLIP[type(cond)](this=cond.right.copy(), expression=cond.left.copy())
            inequality = cond
    if inequality is None or not isinstance(inequality, (exp.GTE, exp.GT)):
        raise ValueError(f"cannot rewrite this ASOF join for Spark: {node.sql('duckdb')}")
    later, t = inequality.left, inequality.right
    inner = right.copy()
    window = exp.Window(this=exp.Anonymous(this="lead", expressions=[t.copy()]),
                        partition_by=keys, order=exp.Order(expressions=[exp.Ordered(this=t.copy())]))
    ranged = exp.select(exp.Star(), exp.alias_(window, "_asof_next")).from_(inner)
    nxt = exp.column("_asof_next", table=alias)
    before_next = exp.LT if isinstance(inequality, exp.GTE) else exp.LTE
    bound = exp.or_(exp.Is(this=nxt.copy(), expression=exp.Null()),
                    before_next(this=later.copy(), expression=nxt.copy()))
    joined = node.copy()
    joined.set("method", None)
    joined.set("this", exp.alias_(ranged.subquery(), alias))
    joined.set("on", exp.and_(node.args["on"].copy(), exp.paren(bound)))
    return joined


def _materialized_cte(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node = node.copy()
        node.set("materialized", None)
    return node


def _arrays_overlap(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.ArrayOverlaps):
        return exp.Anonymous(this="arrays_overlap", expressions=[node.this.copy(), node.expression.copy()])
    return node


def _double_literals(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal) and not node.is_string and "." in node.name and "e" not in node.name.lower():
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    return node


def _epoch_fractions(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(this="unix_micros", expressions=[node.this.copy()])
        return exp.paren(exp.Div(this=micros, expression=exp.Cast(
            this=exp.Literal.number(1000000), to=exp.DataType.build("DOUBLE"))))
    return node


def _regexp_groups(node: exp.Expression) -> exp.Expression:
    group = node.args.get("group") if isinstance(node, exp.RegexpExtract) else None
    if not isinstance(group, exp.Array):
        return node
    fields = []
    for number, name in enumerate(group.expressions, start=1):
        one = exp.RegexpExtract(this=node.this.copy(), expression=node.expression.copy(),
                                group=exp.Literal.number(number))
        fields += [exp.Literal.string(name.name), one]
    return exp.Anonymous(this="named_struct", expressions=fields)


ISO_WEEK = "concat(CAST(extract(YEAROFWEEK FROM {t}) AS STRING), '-W', lpad(CAST(extract(WEEK FROM {t}) AS STRING), 2, '0'))"


def _iso_week(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.TimeToStr) and node.args.get("format") is not None \
            and node.args["format"].name == "%G-W%V":
        return sqlglot.parse_one(ISO_WEEK.format(t=node.this.sql(dialect="spark")), read="spark")
    return node


def _arg_min_nulls(node: exp.Expression) -> exp.Expression:
    """DuckDB's arg_min/arg_max skip rows whose value is NULL; Spark's min_by/max_by keep them."""
    if isinstance(node, exp.Filter) and isinstance(node.this, (exp.ArgMin, exp.ArgMax)):
        agg, where = node.this, node.expression.this
        keep = exp.not_(exp.Is(this=agg.this.copy(), expression=exp.Null()))
        return exp.Filter(this=agg.copy(), expression=exp.Where(this=exp.and_(exp.paren(where.copy()), keep)))
    if isinstance(node, (exp.ArgMin, exp.ArgMax)) and not isinstance(node.parent, exp.Filter):
        keep = exp.not_(exp.Is(this=node.this.copy(), expression=exp.Null()))
        return exp.Filter(this=node.copy(), expression=exp.Where(this=keep))
    return node


REWRITES = (_asof_join, _infinity, _materialized_cte, _arrays_overlap, _double_literals, _epoch_fractions,
            _regexp_groups, _iso_week, _arg_min_nulls)


@functools.lru_cache(maxsize=512)
def to_spark(sql: str) -> str:
    """DuckDB metric SQL as Spark SQL."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    for rewrite in REWRITES:
        tree = tree.transform(rewrite)
    return tree.sql(dialect="spark")
