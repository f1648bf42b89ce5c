//! Modules that change the machine itself (cron, hostname, sysctl,
//! apt_repository, systemd's units, user accounts, a second login with
//! `remote_user`) run over SSH against a Debian 12 container of the
//! test's own with systemd as its PID 1 (tests/containers), never against
//! this machine.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{engine, play, unignored_failures};

/// A running target-host container, removed on drop.
struct TargetHost {
    name: String,
    address: String,
    key: PathBuf,
    _keys: tempfile::TempDir,
}

impl TargetHost {
    fn start(name: &str) -> TargetHost {
        let keys = tempfile::tempdir().unwrap();
        let key = keys.path().join("id");
        let made = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .unwrap();
        assert!(made.success());
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/containers/start-target-host");
        let out = Command::new(script)
            .arg(name)
            .arg(key.with_extension("pub"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "start-target-host failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        TargetHost {
            name: name.to_string(),
            address: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            key,
            _keys: keys,
        }
    }

    fn inventory_line(&self, host: &str) -> String {
        format!(
            "{host} ansible_host={} ansible_ssh_private_key_file={}\n",
            self.address,
            self.key.display()
        )
    }

    /// Runs a command in the container (outside Capstan), for checks.
    fn exec(&self, script: &str) -> String {
        let out = Command::new("docker")
            .args(["exec", &self.name, "sh", "-c", script])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TargetHost {
    fn drop(&mut self) {
        let _ = Command::new("docker")
            .args(["rm", "-f", &self.name])
            .output();
    }
}

const PLAYBOOK: &str = r#"- hosts: box
  # The login as a keyword, not `ansible_user`: a host's ansible_user
  # wins over every `remote_user`, as Ansible's does.
  remote_user: root
  vars:
    tide_pw: harbour-light-9
  tasks:
    - assert:
        that: ansible_service_mgr == 'systemd'

    # cron: a user's crontab through `crontab`, a file of /etc/cron.d
    - cron: name=backup minute=5 hour=2 job=/usr/local/bin/backup
      register: added
    - cron: name=backup minute=5 hour=2 job=/usr/local/bin/backup
      register: again
    - cron: name=PATH env=yes job=/usr/bin:/bin
    - cron:
        name: cleanup
        cron_file: capstan-cleanup
        user: nobody
        special_time: daily
        job: find /tmp -mtime +7 -delete
      register: in_file
    - command: crontab -l
      register: table
      changed_when: false
    - command: cat /etc/cron.d/capstan-cleanup
      register: file
      changed_when: false
    - assert:
        that:
          - added is changed
          - again is not changed
          - in_file is changed
          - table.stdout == 'PATH="/usr/bin:/bin"\n#Ansible: backup\n5 2 * * * /usr/local/bin/backup'
          - file.stdout == '#Ansible: cleanup\n@daily nobody find /tmp -mtime +7 -delete'
    - cron: name=backup state=absent
      register: removed
    - cron: name=cleanup cron_file=capstan-cleanup state=absent
    - stat: path=/etc/cron.d/capstan-cleanup
      register: gone
    - cron: name=x cron_file=/etc/crontab user=root job=ls
      register: refused
      ignore_errors: true
    - assert:
        that:
          - removed is changed
          - not gone.stat.exists
          - refused.msg == 'Will not manage /etc/crontab via cron_file, see documentation.'
          - removed.jobs == [] and removed.envs == ['PATH']

    # hostname: systemd's static and transient names; facts follow
    - hostname: name=web-7.example.test
      register: named
    - hostname: name=web-7.example.test
      register: named_again
    - command: hostname
      register: now
      changed_when: false
    - assert:
        that:
          - named is changed and named_again is not changed
          - now.stdout == 'web-7.example.test'
          - ansible_hostname == 'web-7'

    # sysctl: a network parameter (the container's own namespace)
    - sysctl:
        name: net.ipv4.ip_forward
        value: "1"
        sysctl_set: true
        sysctl_file: /etc/sysctl.d/90-capstan.conf
      register: forward
    - sysctl: name=net.ipv4.ip_forward value=1 sysctl_set=yes sysctl_file=/etc/sysctl.d/90-capstan.conf
      register: forward_again
    - command: cat /proc/sys/net/ipv4/ip_forward /etc/sysctl.d/90-capstan.conf
      register: kernel
      changed_when: false
    - assert:
        that:
          - forward is changed and forward_again is not changed
          - kernel.stdout_lines == ['1', 'net.ipv4.ip_forward=1']

    # apt_repository: a local repository (no source reaches the internet)
    - shell: |
        set -e
        mkdir -p /srv/repo/pkg/DEBIAN && cd /srv/repo
        printf 'Package: capstan-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n' > pkg/DEBIAN/control
        dpkg-deb -Zgzip --build pkg capstan-hello_1.0_all.deb >/dev/null
        printf 'Package: capstan-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nFilename: ./capstan-hello_1.0_all.deb\nSize: %s\nSHA256: %s\nDescription: test\n\n' \
          "$(stat -c %s capstan-hello_1.0_all.deb)" "$(sha256sum capstan-hello_1.0_all.deb | cut -d' ' -f1)" > Packages
      args:
        creates: /srv/repo/Packages
    - apt_repository:
        repo: deb [trusted=yes] file:/srv/repo ./
        filename: capstan-local
      register: repo_added
    - apt_repository:
        repo: "deb  [trusted=yes]   file:/srv/repo ./"
        filename: capstan-local
      register: repo_again
    - apt: name=capstan-hello
      register: hello
    - apt_repository:
        repo: deb [trusted=yes] file:/srv/repo ./
        state: absent
      register: repo_removed
    - stat: path=/etc/apt/sources.list.d/capstan-local.list
      register: list_file
    - apt_repository: repo=ppa:someone/something
      register: ppa
      ignore_errors: true

    # apt_key: a key made here (no key server is reached), added from a
    # file and from its text, then removed by its id
    - shell: |
        set -e
        export GNUPGHOME=$(mktemp -d)
        gpg --batch --passphrase '' --quick-gen-key 'Capstan Test <test@capstan.invalid>' ed25519 sign never 2>/dev/null
        gpg --armor --export test@capstan.invalid > /srv/repo/key.asc
      args:
        creates: /srv/repo/key.asc
    - command: cat /srv/repo/key.asc
      register: key_text
      changed_when: false
    - apt_key: file=/srv/repo/key.asc keyring=/etc/apt/trusted.gpg.d/capstan.gpg
      register: key_added
    - apt_key: file=/srv/repo/key.asc keyring=/etc/apt/trusted.gpg.d/capstan.gpg
      register: key_again
    - apt_key:
        data: "{{ key_text.stdout }}"
        keyring: /etc/apt/trusted.gpg.d/capstan-data.gpg
      register: key_from_data
    - apt_key:
        id: "{{ key_added.short_id }}"
        keyring: /etc/apt/trusted.gpg.d/capstan.gpg
        state: absent
      register: key_removed
    - apt_key: id=0xZZ state=absent
      register: bad_id
      ignore_errors: true
    - assert:
        that:
          - repo_added is changed and repo_again is not changed
          - repo_added.sources_added == ['/etc/apt/sources.list.d/capstan-local.list']
          - hello is changed
          - repo_removed is changed and not list_file.stat.exists
          - ppa is failed and 'Ubuntu' in ppa.msg
          - key_added is changed and key_again is not changed
          - key_added.fp | length == 40
          - key_from_data is changed and key_from_data.fp == key_added.fp
          - key_removed is changed
          - bad_id is failed and 'is not a key id' in bad_id.msg

    # systemd: a new unit, daemon_reload, enabled, started, masked
    # (a vendor's place: a unit file in /etc/systemd/system cannot be masked)
    - file: path=/usr/local/lib/systemd/system state=directory
    - copy:
        dest: /usr/local/lib/systemd/system/capstan-demo.service
        content: |
          [Unit]
          Description=Capstan's test service
          [Service]
          ExecStart=/bin/sleep infinity
          [Install]
          WantedBy=multi-user.target
    - systemd: name=capstan-demo daemon_reload=yes state=started enabled=yes
      register: started
    - systemd: name=capstan-demo state=started enabled=yes
      register: started_again
    - command: systemctl is-active capstan-demo
      register: active
      changed_when: false
    - systemd: name=capstan-demo state=stopped enabled=no masked=yes
      register: masked
    - systemd: name=capstan-demo masked=yes
      register: masked_again
    - command: systemctl is-enabled capstan-demo
      register: mask_word
      changed_when: false
      failed_when: false
    - systemd: name=capstan-demo state=started
      register: start_masked
      ignore_errors: true
    - systemd: name=no-such-unit state=started
      register: missing
      ignore_errors: true
    - assert:
        that:
          - started is changed and started_again is not changed
          - started.status.ActiveState == 'inactive'
          - active.stdout == 'active'
          - masked is changed and masked_again is not changed
          - mask_word.stdout == 'masked'
          - start_masked is failed
          - missing.msg == 'Could not find the requested service no-such-unit: host'

    # user: a home copied from a skeleton, expiry, password aging and
    # lock, an SSH key with a passphrase, a home made for an account that
    # had none, libuser's mode refused
    - file: path=/srv/skel/.config state=directory
    - copy: dest=/srv/skel/.config/hello content=hi
    - user:
        name: deploy
        home: /srv/homes/deploy
        skeleton: /srv/skel
        expires: 2529881062
        password: "$6$rounds=656000$TT4O7jz2M57npccl$33LF6FcUMSW11qrESXL1HX0BS.bsiT6aenFLLiVpsQh6hDtI9pJh5iY7x8J7ePkN4fP8hmElidHXaeD51pbGS."
      register: deploy
    - user: name=deploy password_expire_max=90 password_expire_warn=14 password_lock=yes
      register: aged
    - user: name=deploy password_expire_max=90 password_expire_warn=14 password_lock=yes expires=2529881062
      register: aged_again
    - user:
        name: deploy
        generate_ssh_key: yes
        ssh_key_type: ed25519
        ssh_key_passphrase: tide-pool-7
      register: keyed
    - user: name=deploy generate_ssh_key=yes ssh_key_type=ed25519
      register: keyed_again
    - getent: database=shadow key=deploy
    - stat: path=/srv/homes/deploy/.config/hello
      register: copied
    - user: name=nohome create_home=no
    - user: name=nohome
      register: home_made
    - stat: path=/home/nohome
      register: made
    - user: name=someone local=yes
      register: local
      ignore_errors: true
    - assert:
        that:
          - deploy is changed and deploy.home == '/srv/homes/deploy'
          - copied.stat.exists and copied.stat.pw_name == 'deploy'
          - aged is changed and aged_again is not changed
          - getent_shadow.deploy[0].startswith('!$6$rounds=656000$')
          - getent_shadow.deploy[3] == '90' and getent_shadow.deploy[4] == '14'
          - getent_shadow.deploy[6] == '29281'
          - keyed is changed and keyed_again is not changed
          - keyed.ssh_key_file == '/srv/homes/deploy/.ssh/id_ed25519'
          - keyed.ssh_public_key.startswith('ssh-ed25519 ')
          - home_made is changed and made.stat.isdir and made.stat.pw_name == 'nohome'
          - local is failed and 'libuser' in local.msg

    # remote_user: a second login to the host with its key; the variables
    # ansible_become* over the keywords, the password from a variable
    - user:
        name: tide
        password: "{{ tide_pw | password_hash('sha512') }}"
    - copy: dest=/etc/sudoers.d/tide content="tide ALL=(ALL) ALL\n" mode=0440
    - file: path=/home/tide/.ssh state=directory owner=tide mode=0700
    - copy:
        src: /root/.ssh/authorized_keys
        dest: /home/tide/.ssh/authorized_keys
        remote_src: yes
        owner: tide
        mode: "0600"
    - command: id -un
      remote_user: tide
      register: as_tide
    - file: path=/srv/tide state=directory owner=tide
    - copy: content="read only\n" dest=/srv/tide/motd mode=0444
      remote_user: tide
      register: read_only
    - command: id -un
      register: as_root
    - command: id -un
      remote_user: tide
      vars:
        ansible_become: true
        ansible_become_password: "{{ tide_pw }}"
      register: tide_as_root
    - assert:
        that:
          - as_tide.stdout == 'tide'
          - as_root.stdout == 'root'
          - tide_as_root.stdout == 'root'
          - read_only is changed
"#;

#[tokio::test(flavor = "multi_thread")]
async fn cron_hostname_sysctl_and_systemd_change_a_real_machine() {
    let host = TargetHost::start("capstan-test-machine");
    let (home, capstan) = engine();
    let inventory = home.path().join("inv.ini");
    std::fs::write(&inventory, format!("[all]\n{}", host.inventory_line("box"))).unwrap();
    let site = home.path().join("site.yml");
    std::fs::write(&site, PLAYBOOK).unwrap();
    let (report, events) = play(&capstan, &site, &inventory, |_| {}).await;
    assert!(!report.failed(), "{:#?}", unignored_failures(&events));
    let recap = &report.recap[0];
    assert_eq!(recap.failed, 0);
    assert_eq!(recap.ignored, 6, "six refusals were expected");
    // The key's passphrase reached ssh-keygen and no result.
    assert_eq!(
        host.exec(
            "ssh-keygen -y -P tide-pool-7 -f /srv/homes/deploy/.ssh/id_ed25519 >/dev/null && \
             stat -c %U /srv/homes/deploy/.ssh/id_ed25519"
        ),
        "deploy\n"
    );
    assert!(!format!("{events:?}").contains("tide-pool-7"));
    // The sudo password a variable gave is in no recorded event either.
    assert!(!format!("{events:?}").contains("harbour-light-9"));
    // What the run left is on the machine, read without Capstan.
    assert_eq!(host.exec("cat /etc/hostname"), "web-7.example.test\n");
    assert_eq!(host.exec("systemctl is-enabled capstan-demo"), "masked\n");
    assert_eq!(host.exec("crontab -l"), "PATH=\"/usr/bin:/bin\"\n");
}
