"""`sandgym tools serve DOMAIN`: a real MCP client over stdio lists and calls the tools."""

from __future__ import annotations

import json
import os
import sys

import anyio


async def _session(domain: str, calls: list[tuple[str, dict]]) -> tuple[list, list]:
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(
        command=sys.executable, args=["-c", "from sandgym.cli import main; main()",
                                      "tools", "serve", domain],
        env={**os.environ, "PYTHONPATH": os.getcwd()})
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = (await session.list_tools()).tools
        results = [await session.call_tool(name, arguments) for name, arguments in calls]
    return tools, results


def test_retail_served_over_mcp_keeps_state_and_types_errors():
    calls = [("find_user_id_by_name_zip", {"first_name": "Yusuf", "last_name": "Rossi",
                                           "zip": "19122"}),
             ("cancel_pending_order", {"order_id": "#W0000000", "reason": "no longer needed"}),
             ("get_user_details", {"user_id": 42}),
             ("no_such_tool", {})]
    tools, results = anyio.run(_session, "tau2-retail", calls)
    names = {t.name for t in tools}
    assert "exchange_delivered_order_items" in names and len(names) == 15
    schema = next(t for t in tools if t.name == "exchange_delivered_order_items").input_schema
    assert schema["properties"]["item_ids"]["type"] == "array"
    first, refused, bad, unknown = results
    assert not first.is_error and json.loads(first.content[0].text) == "yusuf_rossi_9620"
    kinds = [json.loads(r.content[0].text)["error"]["type"] for r in (refused, bad, unknown)]
    assert kinds == ["tool_error", "bad_arguments", "unknown_tool"]
    assert all(r.is_error for r in (refused, bad, unknown))


def test_airline_served_over_mcp_with_object_schemas():
    calls = [("get_reservation_details", {"reservation_id": "4OG6T3"}),
             ("update_reservation_passengers", {"reservation_id": "4OG6T3",
                                                "passengers": [{"name": "x"}]})]
    tools, results = anyio.run(_session, "tau2-airline", calls)
    assert len(tools) == 14
    schema = next(t for t in tools if t.name == "book_reservation").input_schema
    assert schema["properties"]["passengers"]["items"]["required"] == ["first_name",
                                                                       "last_name", "dob"]
    found, bad = results
    assert json.loads(found.content[0].text)["user_id"] == "noah_muller_9847"
    assert bad.is_error and json.loads(bad.content[0].text)["error"]["type"] == "bad_arguments"
