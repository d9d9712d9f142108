from arrears.gateway.app import main

main()
