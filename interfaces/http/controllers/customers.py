"""Customers: personal data that the tenant may erase for good (``DELETE`` answers 204; the
customer is then 404, exactly like one that never existed)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from phonenumbers import SUPPORTED_REGIONS

from application.customers import Customers
from application.identity import Principal
from application.paging import DEFAULT_PAGE_SIZE
from application.views import CustomerView
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, Paginated, page_request, to_response
from interfaces.http.schemas import (
    CustomerCreate,
    CustomerPatch,
    CustomerPreferences,
    QuietHours,
)
from interfaces.http.security import command_context, scoped

READ_ERRORS = problems(400, 401, 403, 404, 422)
WRITE_ERRORS = problems(400, 401, 403, 404, 422, 503)

PhoneQuery = Annotated[
    str | None,
    QueryParameter(
        name="phone",
        max_length=40,
        description="Exact phone, any format (normalised to E.164 before matching)",
    ),
]
RegionQuery = Annotated[
    str | None,
    QueryParameter(
        name="phone_region",
        max_length=2,
        # Documented, not enforced by the framework: check_region answers another code 422 (it
        # also takes lower case).
        enum=sorted(SUPPORTED_REGIONS),
        description="ISO code for a national phone",
    ),
]
NameQuery = Annotated[
    str | None,
    QueryParameter(name="name", max_length=200, description="Part of the name, case-insensitive"),
]


def _quiet(value: QuietHours | None) -> dict[str, str] | None:
    return {"start": value.start, "end": value.end} if value is not None else None


class CustomerController(Controller):
    """The tenant's customers."""

    path = f"{TENANT_PATH}/customers"
    tags = ["customers"]
    dependencies = TENANT_SCOPED

    @get(
        "/",
        operation_id="listCustomers",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("customers:read"),
    )
    def list_customers(
        self,
        customers: UseCase[Customers],
        request: Request,
        member: NamedDependency[Principal],
        cursor: Cursor = None,
        limit: Limit = DEFAULT_PAGE_SIZE,
        phone: PhoneQuery = None,
        phone_region: RegionQuery = None,
        name: NameQuery = None,
    ) -> Paginated[CustomerView]:
        """Customers oldest first, optionally by exact phone or by part of the name."""
        page = customers.list_customers(
            member.tenant_id, page_request(cursor, limit), phone, phone_region, name
        )
        return to_response(page, limit)

    @post(
        "/",
        operation_id="createCustomer",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("customers:write"),
    )
    def create_customer(
        self,
        customers: UseCase[Customers],
        request: Request,
        member: NamedDependency[Principal],
        data: JSONBody[CustomerCreate],
    ) -> CustomerView:
        """Register a customer; the phone is normalised to E.164."""
        wanted = data.preferences or CustomerPreferences()
        return customers.register_customer(
            command_context(request, member),
            data.name,
            phone=data.phone,
            phone_region=data.phone_region,
            email=data.email,
            metadata=data.metadata,
            channels=wanted.channels,
            language=wanted.language,
            quiet_hours=_quiet(wanted.quiet_hours),
            push_token=data.push_token,
        )

    @get(
        "/{customer_id:uuid}",
        operation_id="getCustomer",
        sync_to_thread=True,
        responses=READ_ERRORS,
        **scoped("customers:read"),
    )
    def get_customer(
        self,
        customers: UseCase[Customers],
        request: Request,
        member: NamedDependency[Principal],
        customer_id: FromPath[UUID],
    ) -> CustomerView:
        """One customer; an erased customer is 404."""
        return customers.get_customer(member.tenant_id, customer_id)

    @patch(
        "/{customer_id:uuid}",
        operation_id="updateCustomer",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("customers:write"),
    )
    def update_customer(
        self,
        customers: UseCase[Customers],
        request: Request,
        member: NamedDependency[Principal],
        customer_id: FromPath[UUID],
        data: JSONBody[CustomerPatch],
    ) -> CustomerView:
        """Change only the fields sent; unknown fields are refused, server-owned ones with 422."""
        changes: dict[str, Any] = {
            name: getattr(data, name)
            for name in ("name", "phone", "email", "metadata", "push_token")
            if getattr(data, name) is not msgspec.UNSET
        }
        wanted = data.preferences
        if wanted is not msgspec.UNSET:
            if wanted.channels is not msgspec.UNSET:
                changes["channels"] = wanted.channels
            if wanted.language is not msgspec.UNSET:
                changes["language"] = wanted.language
            if wanted.quiet_hours is not msgspec.UNSET:
                changes["quiet_hours"] = _quiet(wanted.quiet_hours)
        return customers.update_customer(
            command_context(request, member),
            customer_id,
            phone_region=data.phone_region,
            **changes,
        )

    @delete(
        "/{customer_id:uuid}",
        operation_id="eraseCustomer",
        sync_to_thread=True,
        responses=WRITE_ERRORS,
        **scoped("customers:erase"),
    )
    def erase_customer(
        self,
        customers: UseCase[Customers],
        request: Request,
        member: NamedDependency[Principal],
        customer_id: FromPath[UUID],
    ) -> None:
        """Erase the customer's personal data for good; their tickets stay in statistics."""
        customers.erase_customer(command_context(request, member), customer_id)
