"""An example sandgym plugin: string tasks graded by hidden tests in the sandbox.

`plugin.register_envs` is what the entry point names; it imports nothing heavy, so
`import sandgym` stays fast. The env class (`env.StringTasksEnv`) loads on make().
"""
