from arrears.ledger.app import main

main()
