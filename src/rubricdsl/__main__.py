from rubricdsl.cli import main

main(prog_name="rubric")
