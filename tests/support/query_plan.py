"""The plan a database chose for a query: EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite, as text."""
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ClauseElement, Executable


class Explain(Executable, ClauseElement):
    inherit_cache = False

    def __init__(self, statement):
        self.statement = statement


@compiles(Explain)
def _explain(element, compiler, **kw):
    prefix = "EXPLAIN QUERY PLAN" if compiler.dialect.name == "sqlite" else "EXPLAIN"
    return f"{prefix} {compiler.process(element.statement, **kw)}"


async def query_plan(conn, statement) -> str:
    """The plan, one node a line (PostgreSQL's text format; SQLite's detail column)."""
    return "\n".join(str(row[-1]) for row in (await conn.execute(Explain(statement))).all())
