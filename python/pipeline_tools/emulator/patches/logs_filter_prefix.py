"""FilterLogEvents honours ``logStreamNamePrefix`` and always interleaves.

What moto 5.2.5 lacks: its FilterLogEvents ignores ``logStreamNamePrefix`` (every stream of the group
is searched) and sorts the events by time only when ``interleaved`` is true. On AWS the prefix
"Filters the results to include only events from log streams that have names starting with this
prefix", and "The response from this operation always interleaves events from multiple log streams
within a log group" (``interleaved`` is ignored since June 2019):
https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html.
``aws logs tail --log-stream-name-prefix JOB/`` and ``pipeline-tools logs`` (a SageMaker job's hosts
are the streams named ``<job>/...``) rely on both.

The patch turns the prefix into the list of matching stream names (none matching: no events) and
asks moto's backend for interleaved events.
"""

from __future__ import annotations

import json
from typing import Any


def apply() -> None:
    from moto.logs.responses import LogsResponse

    def filter_log_events(self: LogsResponse) -> str:
        group_name = self._get_param("logGroupName")
        names = self._get_param("logStreamNames", [])
        prefix = self._get_param("logStreamNamePrefix")
        group = self.logs_backend.groups.get(group_name)
        if prefix and not names and group is not None:
            names = [name for name in group.streams if name.startswith(prefix)]
            if not names:
                return json.dumps({"events": [], "searchedLogStreams": []})
        events, next_token, searched = self.logs_backend.filter_log_events(
            group_name,
            names,
            self._get_param("startTime"),
            self._get_param("endTime"),
            self._get_param("limit"),
            self._get_param("nextToken"),
            self._get_param("filterPattern"),
            True,
        )
        result: dict[str, Any] = {"events": events, "searchedLogStreams": searched}
        if next_token:
            result["nextToken"] = next_token
        return json.dumps(result)

    LogsResponse.filter_log_events = filter_log_events
