"""The video tasks the simulator is "rendering": each turns Success or Fail after its number of polls."""
from collections import OrderedDict
from dataclasses import dataclass

MAX_TASKS = 100_000  # the oldest are forgotten, so a long run cannot grow memory without bound


@dataclass(slots=True)
class VideoTask:
    task_id: str
    provider: str
    model: str
    polls: int       # queries answered before the outcome
    outcome: str     # "Success" or "Fail"
    file_id: str
    created: int
    queries: int = 0

    def advance(self) -> str:
        """The status this query reports."""
        index, self.queries = self.queries, self.queries + 1
        if index >= self.polls:
            return self.outcome
        return "Queueing" if index == 0 else "Processing"


class VideoTasks:
    def __init__(self, max_tasks: int = MAX_TASKS):
        self._tasks: OrderedDict[str, VideoTask] = OrderedDict()
        self._files: dict[str, VideoTask] = {}
        self.max_tasks = max_tasks

    def add(self, task: VideoTask) -> None:
        self._tasks[task.task_id] = task
        self._files[task.file_id] = task
        while len(self._tasks) > self.max_tasks:
            _, old = self._tasks.popitem(last=False)
            self._files.pop(old.file_id, None)

    def task(self, task_id: str) -> VideoTask | None:
        return self._tasks.get(task_id)

    def file(self, file_id: str) -> VideoTask | None:
        task = self._files.get(file_id)
        return task if task is not None and task.queries > task.polls and task.outcome == "Success" else None
