"""Organisation: departments (a tree) and employees."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

ROLES = ("employee", "manager", "hr", "admin")


class Department(SQLModel, table=True):
    __tablename__ = "departments"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    parent_id: int | None = Field(default=None, foreign_key="departments.id")
    head_id: str | None = Field(default=None, max_length=64)
    # Team group chats used for @-reminders (optional).
    wecom_chat_id: str | None = Field(default=None, max_length=128)
    dingtalk_conversation_id: str | None = Field(default=None, max_length=128)
    # The platform's department id, set by the directory sync (matches renamed departments).
    wecom_dept_id: str | None = Field(default=None, max_length=64, unique=True)
    dingtalk_dept_id: str | None = Field(default=None, max_length=64, unique=True)


class Employee(SQLModel, table=True):
    __tablename__ = "employees"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(index=True, max_length=64)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    manager_id: str | None = Field(default=None, max_length=64, index=True)
    role: str = Field(default="employee", max_length=16)
    hrbp_id: str | None = Field(default=None, max_length=64)
    wecom_userid: str | None = Field(default=None, unique=True, max_length=128)
    dingtalk_userid: str | None = Field(default=None, unique=True, max_length=128)
    weekly_capacity_hours: float = 40.0
    email: str | None = Field(default=None, max_length=200)
    active: bool = True


class DirectoryVersion(SQLModel, table=True):
    """One row (id 1) whose ``version`` goes up in the transaction of every import or directory sync
    that changes people, so every process drops its cached identities within seconds
    (storage/identity.py), not only the one that ran the change."""

    __tablename__ = "directory_version"

    id: int = Field(default=1, primary_key=True)
    version: int = 0
