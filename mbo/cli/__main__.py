from mbo.cli import main

main()
