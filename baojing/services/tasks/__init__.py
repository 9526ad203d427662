"""Monthly tasks (按月党建工作任务): set by the township, completed by members, on a grid.

What the home pages take from here: for_home(user) (a member's tasks; a secretary's or
officer's to-do) and todo_for(user).
"""

from baojing.services.tasks.home import for_home, todo_for

__all__ = ["for_home", "todo_for"]
