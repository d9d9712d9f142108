from arrears.timeline.app import main

main()
