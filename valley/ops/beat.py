"""The one beat of a deployment: RedBeat's scheduler (schedule and lock in Redis), kept alive through Redis outages.

RedBeat takes its lock once, when beat starts, and lets any Redis error end the process. Beat must outlive an
outage instead: the outbox sweep and the compliance catch-up it queues are what deliver the work that waited
(tests/faults/test_redis_outage.py). And a Redis restarted without persistence has lost the lock and the
schedule, so a beat that gets Redis back takes the lock again and reinstalls the schedule; if another beat
took the lock meanwhile, this one waits, as a second beat does from the start.
"""

import logging

import redis
from redbeat import RedBeatScheduler
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, get_redis

logger = logging.getLogger(__name__)


class OneBeatScheduler(RedBeatScheduler):
    _installed = False

    def __init__(self, app, **kwargs):
        # RedBeat asks whether its settings are there by their bare names, which Celery's CELERY_ namespace
        # hides (it finds their values all the same); given under those names too, it reads them without
        # warning that it falls back to the broker's.
        for name in ("redbeat_redis_url", "redbeat_redis_options", "redbeat_key_prefix", "redbeat_lock_timeout"):
            value = app.conf.first(name)
            if value is not None:
                app.conf[name] = value
        super().__init__(app, **kwargs)

    def setup_schedule(self):
        # Called when beat starts, and again whenever this beat takes the lock. Redis down at start does not
        # stop beat: the schedule is installed once the lock is taken.
        try:
            super().setup_schedule()
        except (redis.ConnectionError, redis.TimeoutError) as error:
            logger.warning("beat: Redis is unreachable (%s); the schedule is installed when it is back", error)
            self._installed = False
        else:
            self._installed = True

    def tick(self, *args, **kwargs):
        try:
            if not self._holds_the_lock():
                return self.max_interval
            return super().tick(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError) as error:
            logger.warning("beat: Redis is unreachable (%s); trying again in %s s", error, self.max_interval)
        except redis.exceptions.LockError as error:  # the lock expired between the check and its extension
            logger.warning("beat: lost the lock (%s); taking it again before sending anything", error)
        return self.max_interval

    def _holds_the_lock(self) -> bool:
        if not self.lock_key:
            return True
        if self.lock is None:  # Redis was down when beat started: RedBeat's start-up lock failed quietly
            client = get_redis(self.app)
            self.lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
            # As RedBeat's own lock: extending sets the time left, rather than adding to it.
            self.lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
        if self.lock.owned():
            if not self._installed:
                self.setup_schedule()
            return self._installed
        if not self.lock.acquire(blocking=False):
            return False  # another beat holds it
        logger.warning("beat: took the lock (again); installing the schedule")
        self.setup_schedule()
        return self._installed
