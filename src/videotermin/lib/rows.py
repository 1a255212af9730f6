"""Models read with SQL written out, for the few reads every socket's arrival makes.

Django's ORM builds and compiles a query anew on every call; for the arrival of a room socket
that cost more than running the queries (docs/decisions/scale.md). Here a statement is written
once, in SQL both databases understand, from the models' own table and column names; a row's
values go through the same converters the ORM applies and become instances with
`Model.from_db`, as the ORM's do. Everything else keeps using the ORM.
"""

from collections.abc import Callable, Sequence
from typing import Any

from django.db import DatabaseError, connections
from django.db.models import Field, Model


def field_of(model: type[Model], name: str) -> Field:
    """A stored field of the model (a column of its table)."""
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.column is None:
        raise ValueError(f"{model.__name__}.{name} is not a column")
    return field


def column_of(field: Field) -> str:
    assert field.column is not None  # stored fields only (concrete_fields, field_of)
    return field.column


class Table:
    """One model's table under an alias in a statement: its columns for the SELECT, and its
    instance from those columns of a row."""

    def __init__(self, model: type[Model], alias: str) -> None:
        self.model, self.alias = model, alias
        self.fields = list(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.columns = [field.get_col(alias) for field in self.fields]
        # An outer join that found no row gives NULL for the primary key.
        self.pk_index = self.fields.index(model._meta.pk)

    def __len__(self) -> int:
        return len(self.fields)

    def name(self, quote: Callable[[str], str]) -> str:
        """The table with its alias, for FROM and JOIN."""
        return f"{quote(self.model._meta.db_table)} {quote(self.alias)}"

    def column(self, quote: Callable[[str], str], field_name: str) -> str:
        return f"{quote(self.alias)}.{quote(column_of(field_of(self.model, field_name)))}"

    def select(self, quote: Callable[[str], str]) -> str:
        alias = quote(self.alias)
        return ", ".join(f"{alias}.{quote(column_of(field))}" for field in self.fields)


class Statement:
    """A SELECT written once per database: `write(q)` gets the tables by alias (`q.m.all`,
    `q.m.table`, `q.m.c("public_id")`) and returns the SQL, which selects `tables`' columns in
    their order; `joined` are tables it only joins. Each row becomes a tuple of instances, one
    per table of `tables` (None where an outer join found none)."""

    def __init__(
        self,
        tables: Sequence[Table],
        write: Callable[["Names"], str],
        joined: Sequence[Table] = (),
    ) -> None:
        self.tables, self.write, self.joined = list(tables), write, list(joined)
        self._prepared: dict[str, tuple[str, list[list[tuple[list[Callable], Any]]]]] = {}

    def _for(self, alias: str) -> tuple[str, list[list[tuple[list[Callable], Any]]]]:
        prepared = self._prepared.get(alias)
        if prepared is None:
            connection = connections[alias]
            sql = self.write(Names([*self.tables, *self.joined], connection))
            converters = [
                [
                    (
                        connection.ops.get_db_converters(column)
                        + column.get_db_converters(connection),
                        column,
                    )
                    for column in table.columns
                ]
                for table in self.tables
            ]
            prepared = self._prepared[alias] = (sql, converters)
        return prepared

    def rows(self, params: Sequence[Any], using: str = "default") -> list[tuple[Any, ...]]:
        sql, converters = self._for(using)
        connection = connections[using]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            fetched = cursor.fetchall()
        return [self._instances(row, converters, connection) for row in fetched]

    def _instances(self, row, converters, connection) -> tuple[Any, ...]:
        instances: list[Model | None] = []
        start = 0
        for table, table_converters in zip(self.tables, converters, strict=True):
            values = list(row[start : start + len(table)])
            start += len(table)
            if values[table.pk_index] is None:
                instances.append(None)
                continue
            for position, (functions, column) in enumerate(table_converters):
                for convert in functions:
                    values[position] = convert(values[position], column, connection)
            instances.append(table.model.from_db(connection.alias, table.attnames, values))
        return tuple(instances)


class Names:
    """What a statement's `write` sees: each table by its alias, `quote`, and `for_update`."""

    def __init__(self, tables: Sequence[Table], connection) -> None:
        self.quote = connection.ops.quote_name
        self._features = connection.features
        self._tables = {table.alias: table for table in tables}

    def for_update(self, *of: str) -> str:
        """Locks the rows found, of these tables only, where the database locks rows (SQLite
        locks the whole database for a transaction that writes instead)."""
        if not self._features.has_select_for_update:
            return ""
        if of and self._features.has_select_for_update_of:
            return " FOR UPDATE OF " + ", ".join(self.quote(alias) for alias in of)
        return " FOR UPDATE"

    def __getattr__(self, alias: str) -> "Named":
        try:
            return Named(self._tables[alias], self.quote)
        except KeyError:
            raise AttributeError(alias) from None


class Named:
    """A table in a statement: `t.table` (name and alias), `t.all` (its columns for the SELECT),
    `t.c("field")` (one column)."""

    def __init__(self, table: Table, quote: Callable[[str], str]) -> None:
        self.table = table.name(quote)
        self.all = table.select(quote)
        self.c = lambda field_name: table.column(quote, field_name)


def db_value(model: type[Model], field_name: str, value: Any, using: str = "default") -> Any:
    """A value as the database stores it in that field (a UUID as text in SQLite, say)."""
    return field_of(model, field_name).get_db_prep_value(value, connections[using], prepared=False)


_updates: dict[tuple[type[Model], tuple[str, ...], str], tuple[str, list[Field]]] = {}


def save_fields(instance: Model, fields: Sequence[str] = (), using: str = "default") -> None:
    """`instance.save(update_fields=fields)` (every field when none are named) with the UPDATE
    written once per model, fields and database. As `save`, each field's `pre_save` gives the
    value (`auto_now`), and an instance whose row is gone raises DatabaseError; unlike it, no
    signals are sent (nothing listens to them for the models this is used for)."""
    model = type(instance)
    key = (model, tuple(fields), using)
    prepared = _updates.get(key)
    connection = connections[using]
    if prepared is None:
        meta = model._meta
        chosen = (
            [field_of(model, name) for name in fields]
            if fields
            else [field for field in meta.concrete_fields if not field.primary_key]
        )
        quote = connection.ops.quote_name
        assignments = ", ".join(f"{quote(column_of(field))} = %s" for field in chosen)
        table, pk = quote(meta.db_table), quote(column_of(meta.pk))
        sql = f"UPDATE {table} SET {assignments} WHERE {pk} = %s"  # noqa: S608 (model's names)
        prepared = _updates[key] = (sql, chosen)
    sql, chosen = prepared
    params = [
        field.get_db_prep_save(field.pre_save(instance, False), connection) for field in chosen
    ]
    params.append(model._meta.pk.get_db_prep_value(instance.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != 1:
            raise DatabaseError(f"{model.__name__} {instance.pk} was not saved: its row is gone.")
    instance._state.adding = False
    instance._state.db = using
