from arrears.summary.app import main

main()
