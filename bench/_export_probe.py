"""``python -m bench._export_probe DATABASE_URL USERNAME``: export every household in the
user's reach as .xlsx in a fresh process and print one JSON line with the time and the
memory (RSS at the start, after, and the peak while it ran). A process of its own, so that
the peak is the export's and not the high-water mark an earlier import left behind."""

import json
import os
import sys

from bench._support import current_rss, measure, use_database


def main() -> None:
    url, username = sys.argv[1], sys.argv[2]
    use_database(url)

    from minqing.accounts.models import User
    from minqing.households.export import export_households
    from minqing.households.selectors import HouseholdFilter
    from minqing.lib.crypto import keyring

    user = User.objects.get(username=username)
    keyring()  # read the keys before, as a server process has
    before = current_rss()
    with measure() as span:
        handle, rows = export_households(user=user, filters=HouseholdFilter())
        size = os.fstat(handle.fileno()).st_size
        handle.close()
    after = current_rss()
    print(
        json.dumps(
            {
                "seconds": span.seconds,
                "cpu_seconds": span.cpu_seconds,
                "rows": rows,
                "bytes": size,
                "start_rss": before,
                "after_rss": after,
                "peak_rss": span.peak_rss,
            }
        )
    )


if __name__ == "__main__":
    main()
