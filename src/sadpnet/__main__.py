from sadpnet.cli.app import main

main()
