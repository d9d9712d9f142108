from arrears.shared.migrations import run_env

run_env()
