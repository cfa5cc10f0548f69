from benchmarks.wagtail_personalisation.run import main

main()
