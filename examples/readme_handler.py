"""The handler from the original tool's README, unchanged: `test-rig run examples/readme_handler.py`."""

from test_rig_python import PyStateHandler, PyStateContext, PyState

class MyCustomHandler(PyStateHandler):
    def __init__(self):
        super().__init__()
        self.counter = 0
    
    def enter(self, context: PyStateContext) -> str:
        print(f"Entering state with host: {context.host}")
        return PyState.initial()
    
    def execute(self, context: PyStateContext) -> str:
        self.counter += 1
        print(f"Executing (attempt {self.counter})")
        
        if context.connection:
            # Execute database operations
            results = context.connection.execute_query("SELECT 1")
            return PyState.completed()
        else:
            return PyState.connecting()
    
    def exit(self, context: PyStateContext) -> None:
        print(f"Exiting state (total executions: {self.counter})")
