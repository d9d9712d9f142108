from arrears.notifier.app import main

main()
