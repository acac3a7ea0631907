from lstmzip.cli import main

main()
