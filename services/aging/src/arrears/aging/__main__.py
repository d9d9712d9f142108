from arrears.aging.app import main

main()
