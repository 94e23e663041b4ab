WHOSE = "the application's test.leakers module"
