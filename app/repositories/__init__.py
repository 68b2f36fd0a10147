"""One repository per aggregate: every ORM read and write of its tables, each query named for its purpose."""
