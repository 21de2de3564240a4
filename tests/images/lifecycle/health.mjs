// Docker HEALTHCHECK for service.mjs: healthy once it has written /tmp/ready.
import { existsSync } from 'node:fs'
process.exit(existsSync('/tmp/ready') ? 0 : 1)
